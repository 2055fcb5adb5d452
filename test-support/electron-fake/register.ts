// Loaded with `node --import`: makes `import ... from "electron"` resolve to the fake main-process API.
import { register } from "node:module";

register(new URL("./resolve-hook.mjs", import.meta.url));

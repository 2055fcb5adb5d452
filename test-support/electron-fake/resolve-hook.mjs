// Resolve hook (runs on Node's loader thread): "electron" → the fake.
const FAKE = new URL("./electron.ts", import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === "electron") return { url: FAKE, shortCircuit: true, format: "module" };
  return next(specifier, context);
}

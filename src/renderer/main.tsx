import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import type { TunnelApi } from "../shared/ipc-contract.js";
import { App } from "./App.js";
import "./styles.css";

declare global {
  interface Window {
    /** Set by the preload; the page has no other way to reach main. */
    readonly tunnel: TunnelApi;
  }
}

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    <App api={window.tunnel} />
  </StrictMode>,
);

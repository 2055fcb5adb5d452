import { describe, expect, it } from "vitest";
import { APP_ORIGIN, IpcRejection, validateIpcCall } from "./ipc-contract.js";

const ours = `${APP_ORIGIN}/index.html`;

describe("IPC validation in main", () => {
  it("accepts well-formed calls from our own frame", () => {
    expect(validateIpcCall("tunnel:start", ours, ["minikube"])).toEqual(["minikube"]);
    expect(validateIpcCall("state:get", ours, [])).toEqual([]);
    expect(validateIpcCall("logs:get", ours, [200])).toEqual([200]);
  });

  it.each([
    ["https://evil.example/x", "sender origin https://evil.example"],
    ["file:///tmp/x.html", "sender origin file://"],
    ["app://minikube-tunnel.evil/x", "sender origin app://minikube-tunnel.evil"],
    [undefined, "sender has no valid URL"],
  ])("refuses a foreign sender %s", (url, message) => {
    expect(() => validateIpcCall("tunnel:start", url, ["minikube"])).toThrow(IpcRejection);
    expect(() => validateIpcCall("tunnel:start", url, ["minikube"])).toThrow(message);
  });

  it.each([
    ["tunnel:start", ["../etc"]],
    ["tunnel:start", []],
    ["tunnel:start", ["minikube", "extra"]],
    ["tunnel:stop", [42]],
    ["clipboard:copy", ["x".repeat(301)]],
    ["logs:get", [0]],
    ["logs:get", ["10"]],
    ["state:get", ["unexpected"]],
  ] as const)("refuses bad payload for %s: %j", (channel, args) => {
    expect(() => validateIpcCall(channel, ours, [...args])).toThrow(/refused/);
  });

  it("refuses unknown channels", () => {
    expect(() => validateIpcCall("shell:exec" as never, ours, [])).toThrow("unknown channel");
  });
});

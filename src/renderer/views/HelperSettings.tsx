import { useEffect, useState } from "react";
import type { TunnelApi } from "../../shared/ipc-contract.js";
import type { Preferences } from "../../shared/preferences.js";

type HelperStatus = Awaited<ReturnType<TunnelApi["helperStatus"]>>;

/** The network helper: installed once (no more passwords), or a password each session. */
export function HelperSettings({
  api,
  prefs,
  update,
}: {
  api: TunnelApi;
  prefs: Preferences;
  update: (change: (p: Preferences) => Preferences) => void;
}) {
  const [status, setStatus] = useState<HelperStatus | null>(null);
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => void api.helperStatus().then(setStatus, () => setStatus(null)), [api]);
  const install = async () => {
    setBusy(true);
    setMessage(null);
    try {
      await api.installHelper();
      setStatus(await api.helperStatus());
      update((p) => ({ ...p, helper: "installed" }));
      setMessage({ kind: "ok", text: "Installed. Starting a tunnel no longer asks for a password." });
    } catch (error) {
      setMessage({
        kind: "error",
        text: `Not installed: ${(error as Error).message.replace(/^Error invoking remote method '[^']+': (Error: )?/, "")}`,
      });
    } finally {
      setBusy(false);
    }
  };
  return (
    <fieldset>
      <legend>Network helper</legend>
      <p className="muted">
        {status === null
          ? "Checking…"
          : status.installed
            ? `Installed (version ${status.version}), ${status.running ? "running" : "not running"}.`
            : "Not installed: each session asks for your password once."}
      </p>
      <div className="actions">
        <button type="button" disabled={busy} onClick={() => void install()}>
          {status?.installed ? "Reinstall the network helper" : "Install the network helper (asks once)"}
        </button>
        <label className="check">
          <input
            type="checkbox"
            checked={prefs.helper === "each-time"}
            onChange={(e) => update((p) => ({ ...p, helper: e.target.checked ? "each-time" : "ask" }))}
          />
          Ask for the password each time instead (do not offer to install)
        </label>
      </div>
      {message ? (
        <p className={`note ${message.kind}`} role="status">
          {message.text}
        </p>
      ) : null}
    </fieldset>
  );
}

import { type FormEvent, useEffect, useState } from "react";
import type { Preferences } from "../../shared/preferences.js";
import type { TunnelApi } from "../../shared/ipc-contract.js";
import { HelperSettings } from "./HelperSettings.js";

/** Edits a copy; main validates again and answers with what it stored. */
export function PreferencesView({ api, profiles }: { api: TunnelApi; profiles: readonly string[] }) {
  const [prefs, setPrefs] = useState<Preferences | null>(null);
  const [poolText, setPoolText] = useState("");
  const [status, setStatus] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  useEffect(() => {
    void api.getPreferences().then(
      (p) => {
        setPrefs(p);
        setPoolText(p.loadBalancer.pool.join("\n"));
      },
      (e: unknown) => setStatus({ kind: "error", text: `Preferences could not be read: ${(e as Error).message}` }),
    );
  }, [api]);
  if (!prefs)
    return status ? (
      <p className="banner error" role="alert">
        {status.text}
      </p>
    ) : (
      <p className="muted">Loading…</p>
    );

  const update = (change: (p: Preferences) => Preferences) => setPrefs((p) => (p ? change(p) : p));
  const save = async (event: FormEvent) => {
    event.preventDefault();
    const next: Preferences = {
      ...prefs,
      loadBalancer: {
        ...prefs.loadBalancer,
        pool: poolText
          .split(/[\n,]/)
          .map((s) => s.trim())
          .filter(Boolean),
      },
    };
    try {
      const stored = await api.setPreferences(next);
      setPrefs(stored);
      setStatus({
        kind: "ok",
        text: "Saved. LoadBalancer settings apply to the next Start; the minikube path after a restart.",
      });
    } catch (error) {
      setStatus({
        kind: "error",
        text: `Not saved: ${(error as Error).message.replace(/^Error invoking remote method '[^']+': (Error: )?/, "")}`,
      });
    }
  };
  const known = [...new Set([...profiles, ...prefs.autoStartProfiles])];
  return (
    <form className="view prefs" onSubmit={(e) => void save(e)}>
      <fieldset>
        <legend>Start automatically</legend>
        {known.length === 0 ? <p className="muted">No profiles found.</p> : null}
        {known.map((name) => (
          <label key={name} className="check">
            <input
              type="checkbox"
              checked={prefs.autoStartProfiles.includes(name)}
              onChange={(e) =>
                update((p) => ({
                  ...p,
                  autoStartProfiles: e.target.checked
                    ? [...p.autoStartProfiles, name]
                    : p.autoStartProfiles.filter((n) => n !== name),
                }))
              }
            />
            {name}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>LoadBalancer Services</legend>
        <label className="check">
          <input
            type="radio"
            name="lb-mode"
            checked={prefs.loadBalancer.mode === "clusterip"}
            onChange={() => update((p) => ({ ...p, loadBalancer: { ...p.loadBalancer, mode: "clusterip" } }))}
          />
          External IP = the Service's ClusterIP (default)
        </label>
        <label className="check">
          <input
            type="radio"
            name="lb-mode"
            checked={prefs.loadBalancer.mode === "pool"}
            onChange={() => update((p) => ({ ...p, loadBalancer: { ...p.loadBalancer, mode: "pool" } }))}
          />
          External IP from a pool
        </label>
        <label>
          Pool (CIDRs or start-end ranges, one per line; empty uses the profile's LoadBalancerStartIP–EndIP)
          <textarea
            rows={3}
            value={poolText}
            onChange={(e) => setPoolText(e.target.value)}
            disabled={prefs.loadBalancer.mode !== "pool"}
          />
        </label>
        <label>
          loadBalancerClass to serve (besides Services without one)
          <input
            type="text"
            value={prefs.loadBalancer.className ?? ""}
            placeholder="none"
            onChange={(e) =>
              update((p) => ({ ...p, loadBalancer: { ...p.loadBalancer, className: e.target.value.trim() || null } }))
            }
          />
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={prefs.loadBalancer.releaseOnStop}
            onChange={(e) =>
              update((p) => ({ ...p, loadBalancer: { ...p.loadBalancer, releaseOnStop: e.target.checked } }))
            }
          />
          Release assigned IPs when a tunnel stops
        </label>
      </fieldset>
      <HelperSettings api={api} prefs={prefs} update={update} />
      <fieldset>
        <legend>Names</legend>
        <label className="check">
          <input
            type="checkbox"
            checked={prefs.names}
            onChange={(e) => update((p) => ({ ...p, names: e.target.checked }))}
          />
          Cluster names (web.default.svc.cluster.local) resolve on this machine while a tunnel runs
        </label>
      </fieldset>
      <fieldset>
        <legend>Forward mode</legend>
        <label className="check">
          <input
            type="checkbox"
            checked={prefs.nodePorts}
            onChange={(e) => update((p) => ({ ...p, nodePorts: e.target.checked }))}
          />
          Node ports answer on 127.0.0.1:&lt;nodePort&gt;, as Docker Desktop publishes them
        </label>
      </fieldset>
      <fieldset>
        <legend>App</legend>
        <label className="check">
          <input
            type="checkbox"
            checked={prefs.startAtLogin}
            onChange={(e) => update((p) => ({ ...p, startAtLogin: e.target.checked }))}
          />
          Start at login
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={prefs.notifications}
            onChange={(e) => update((p) => ({ ...p, notifications: e.target.checked }))}
          />
          Notifications (conflicts, node stopped, cleanup failures)
        </label>
        <div className="field">
          <span>minikube binary</span>
          <div className="actions">
            <code>{prefs.minikubePath ?? "minikube on PATH"}</code>
            <button
              type="button"
              onClick={() =>
                void api.chooseMinikube().then(
                  (stored) => update((p) => ({ ...p, minikubePath: stored.minikubePath })),
                  (e: unknown) => setStatus({ kind: "error", text: `Not changed: ${(e as Error).message}` }),
                )
              }
            >
              Choose…
            </button>
            {prefs.minikubePath ? (
              <button type="button" onClick={() => update((p) => ({ ...p, minikubePath: null }))}>
                Use PATH
              </button>
            ) : null}
          </div>
        </div>
      </fieldset>
      <div className="actions">
        <button type="submit" className="primary">
          Save
        </button>
        {status ? (
          <span
            role={status.kind === "error" ? "alert" : "status"}
            className={status.kind === "error" ? "note error" : "note ok"}
          >
            {status.text}
          </span>
        ) : null}
      </div>
    </form>
  );
}

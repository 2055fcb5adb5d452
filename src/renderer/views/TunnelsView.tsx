import { useState } from "react";
import { type AppState, type ProfileView, isDegraded } from "../../shared/app-state.js";
import type { TunnelApi } from "../../shared/ipc-contract.js";
import type { Act } from "../act.js";

const MODE_LABEL = { auto: "Auto", route: "Routes", forward: "SSH forwards" } as const;
const LINK_LABEL: Record<string, string> = {
  connecting: "connecting",
  up: "up",
  reconnecting: "reconnecting",
  refused: "refused",
  down: "down",
};

/** How the host reaches the profile: chosen here (saved in Preferences), in effect while it runs. */
function ModeControl({ profile, busy, api, act }: { profile: ProfileView; busy: boolean; api: TunnelApi; act: Act }) {
  const id = `mode-${profile.profile}`;
  return (
    <label className="mode-choice" htmlFor={id}>
      Reach by
      <select
        id={id}
        value={profile.modeChoice ?? "auto"}
        disabled={busy}
        onChange={(e) =>
          void act(`Change how ${profile.profile} is reached`, () =>
            api.setMode(profile.profile, e.target.value as keyof typeof MODE_LABEL),
          )
        }
      >
        {Object.entries(MODE_LABEL).map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </label>
  );
}

function ForwardSummary({ profile }: { profile: ProfileView }) {
  const ports = profile.services.flatMap((s) => s.ports.filter((p) => p.forward));
  const listening = ports.filter((p) => p.forward?.state === "listening").length;
  const link = profile.link;
  return (
    <>
      {link ? (
        <p className={link.state === "up" ? "note ok" : link.state === "refused" ? "note error" : "note"}>
          SSH link to the node {link.endpoint ? <span className="mono">{link.endpoint}</span> : null}:{" "}
          {LINK_LABEL[link.state] ?? link.state}
          {link.error ? <span> — {link.error}</span> : null}
        </p>
      ) : null}
      <p className="muted">
        {ports.length === 0
          ? "No LoadBalancer Service ports to forward yet."
          : `${listening} of ${ports.length} Service port${ports.length === 1 ? "" : "s"} forwarded on their own loopback addresses (see Services).`}
      </p>
    </>
  );
}

function NamesLine({ names }: { names: NonNullable<ProfileView["names"]> }) {
  if (names.state === "off") return <p className="muted">Names: off (Preferences)</p>;
  if (names.state === "error") return <p className="note error">Names: not set — {names.error}</p>;
  if (names.state === "pending") return <p className="muted">Names: setting up *.svc.{names.domain}…</p>;
  return (
    <p className="note ok">
      Names: on for *.svc.{names.domain}, through {names.how}
      {names.example ? (
        <>
          ; try <span className="mono">{names.example}</span>
        </>
      ) : null}
    </p>
  );
}

const PHASE_LABEL: Record<string, string> = {
  active: "Active",
  starting: "Starting",
  "waiting-for-node": "Waiting for node",
  retrying: "Retrying",
  blocked: "Held by another tunnel",
  stopping: "Stopping",
  stopped: "Stopped",
};

function ProfileCard({ profile, busy, api, act }: { profile: ProfileView; busy: boolean; api: TunnelApi; act: Act }) {
  return (
    <section className="card" aria-labelledby={`profile-${profile.profile}`}>
      <div className="card-head">
        <h2 id={`profile-${profile.profile}`}>{profile.profile}</h2>
        {isDegraded(profile) ? (
          <span className="pill phase-degraded">Degraded</span>
        ) : (
          <span className={`pill phase-${profile.phase}`}>{PHASE_LABEL[profile.phase] ?? profile.phase}</span>
        )}
        {profile.mode && profile.running ? (
          <span className="pill mode">{profile.mode === "forward" ? "Forward mode" : "Route mode"}</span>
        ) : null}
        {profile.mode !== "forward" ? (
          <span className="muted">{profile.nodeIp ? `node ${profile.nodeIp}` : "node IP unknown"}</span>
        ) : null}
        {profile.lbMode && profile.running ? (
          <span className="muted">LoadBalancer: {profile.lbMode === "off" ? "off" : `${profile.lbMode} mode`}</span>
        ) : null}
        <span className="spacer" />
        <ModeControl profile={profile} busy={busy} api={api} act={act} />
        {profile.running ? (
          <button disabled={busy} onClick={() => void act(`Stop ${profile.profile}`, () => api.stop(profile.profile))}>
            Stop tunnel
          </button>
        ) : (
          <button
            className="primary"
            disabled={busy}
            onClick={() => void act(`Start ${profile.profile}`, () => api.start(profile.profile))}
          >
            Start tunnel
          </button>
        )}
      </div>
      {profile.message && profile.suggestion !== "forward-mode" ? (
        <p className={profile.message.startsWith("Start failed") ? "note error" : "note"}>{profile.message}</p>
      ) : null}
      {profile.suggestion === "forward-mode" ? (
        <p className="note suggestion">
          Routes are in, but the cluster does not answer through them: a docker or podman node is often not reachable
          through routes from here. Forward mode reaches it over SSH.{" "}
          <button
            disabled={busy}
            onClick={() =>
              void act(`Use forward mode for ${profile.profile}`, () => api.setMode(profile.profile, "forward"))
            }
          >
            Use forward mode
          </button>
        </p>
      ) : null}
      {profile.mode === "forward" && profile.running ? <ForwardSummary profile={profile} /> : null}
      {profile.routes.length > 0 ? (
        <table>
          <caption className="sr-only">Routes of {profile.profile}</caption>
          <thead>
            <tr>
              <th scope="col">Network</th>
              <th scope="col">For</th>
              <th scope="col">Via</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {profile.routes.map((route) => (
              <tr key={route.cidr}>
                <td className="mono">{route.cidr}</td>
                <td>{route.kind === "service" ? "Services" : route.kind === "pod" ? "Pods" : "LoadBalancer pool"}</td>
                <td className="mono">{route.gateway}</td>
                <td>
                  <span className={`pill route-${route.state}`}>{route.state}</span>
                  {route.conflict ? <span className="muted"> {route.conflict.message}</span> : null}
                  {route.error ? <span className="muted"> {route.error}</span> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : profile.running && profile.mode !== "forward" ? (
        <p className="muted">No routes yet.</p>
      ) : null}
      {profile.running && profile.names ? <NamesLine names={profile.names} /> : null}
      {profile.probe ? (
        <p className={profile.probe.ok ? "note ok" : "note error"}>
          Reachability: {profile.probe.target}{" "}
          {profile.probe.ok
            ? `answered in ${Math.round(profile.probe.latencyMs ?? 0)} ms`
            : `did not answer (${profile.probe.error ?? "no reply"})`}
        </p>
      ) : null}
    </section>
  );
}

export function TunnelsView({ state, api, act }: { state: AppState; api: TunnelApi; act: Act }) {
  const [cleanup, setCleanup] = useState<string | null>(null);
  return (
    <div className="view">
      {state.profiles.length === 0 ? (
        <p className="empty">
          No minikube profiles found. Create one with <code>minikube start</code>.
        </p>
      ) : null}
      {state.profiles.map((profile) => (
        <ProfileCard key={profile.profile} profile={profile} busy={state.busy} api={api} act={act} />
      ))}
      <div className="actions">
        <button
          disabled={state.busy}
          onClick={() =>
            void act("Clean up stale tunnels", async () => {
              const result = await api.cleanup();
              const ips =
                result.released > 0
                  ? ` and released ${result.released} external IP${result.released === 1 ? "" : "s"}`
                  : "";
              setCleanup(
                `Removed ${result.removed} stale route${result.removed === 1 ? "" : "s"}${ips}${result.failures.length ? `; ${result.failures.length} could not be removed: ${result.failures.join("; ")}` : "."}`,
              );
            })
          }
        >
          Clean up stale tunnels
        </button>
        {cleanup ? (
          <span role="status" className="muted">
            {cleanup}
          </span>
        ) : null}
      </div>
    </div>
  );
}

import type { AppState } from "../../shared/app-state.js";
import type { TunnelApi } from "../../shared/ipc-contract.js";
import type { Act } from "../act.js";

const REASON: Record<string, string> = {
  overlap:
    "The existing route overlaps the network this tunnel needs. Traffic would go one way or the other depending on prefix length, so the tunnel does not add its route.",
  "unregistered-duplicate":
    "Exactly this route already exists, but no tunnel registry entry owns it. It may belong to another tool, so it is left alone.",
  "owned-by-other-tunnel": "A live tunnel (another profile or process) owns this route.",
  "not-added-by-root":
    "An entry in tunnels.json claims this route (often a minikube tunnel that is no longer running), but the helper did not add it, so it neither takes it over nor removes it. Run sudo mktunnel cleanup (or minikube tunnel --cleanup) once, then Start again.",
};

export function ConflictsView({ state, api, act }: { state: AppState; api: TunnelApi; act: Act }) {
  const conflicts = state.profiles.flatMap((p) =>
    p.routes
      .filter((r) => r.state === "conflict" && r.conflict)
      .map((r) => ({ profile: p.profile, route: r, conflict: r.conflict! })),
  );
  if (conflicts.length === 0)
    return <p className="empty">No conflicts. Every route a running tunnel needs is in place or pending.</p>;
  return (
    <div className="view">
      <p className="muted">
        Minikube Tunnel never removes a route it did not add. Remove the existing route yourself if it is no longer
        needed, then Stop and Start the tunnel.
      </p>
      {conflicts.map(({ profile, route, conflict }) => (
        <section className="card conflict" key={`${profile}-${route.cidr}`} aria-label={`Conflict for ${route.cidr}`}>
          <h2>
            <span className="mono">{conflict.requested}</span>{" "}
            <span className="muted">
              wanted by {profile} via {route.gateway}
            </span>
          </h2>
          <dl className="facts">
            <dt>Existing route</dt>
            <dd className="mono">{conflict.existing.destination}</dd>
            <dt>Gateway</dt>
            <dd className="mono">{conflict.existing.gateway ?? "none (on-link)"}</dd>
            <dt>Interface</dt>
            <dd className="mono">{conflict.existing.interface ?? "unknown"}</dd>
            <dt>Why it blocks</dt>
            <dd>
              {conflict.message}. {REASON[conflict.reason] ?? ""}
            </dd>
          </dl>
          {conflict.removeCommand ? (
            <div className="command">
              <code>{conflict.removeCommand}</code>
              <button onClick={() => void act("Copy", () => api.copy(conflict.removeCommand!))}>Copy command</button>
            </div>
          ) : null}
        </section>
      ))}
    </div>
  );
}

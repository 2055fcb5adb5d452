import { memo } from "react";
import type { AppState, IngressNameView } from "../../shared/app-state.js";
import { nameEndpoints, namesOf } from "../../shared/name-address.js";
import type { TunnelApi } from "../../shared/ipc-contract.js";
import type { Act } from "../act.js";
import { PortLinks } from "../components/PortLinks.js";

const PORT_STATE = {
  listening: "listening",
  "port-in-use": "port in use",
  "udp-not-forwarded": "not forwarded",
  error: "not listening",
} as const;

interface NameRow {
  readonly profile: string;
  readonly kind: "Ingress" | "Gateway";
  readonly name: IngressNameView;
}

/** The rows the Services view shows under its Services, filtered like them (by name, object or address). */
export function nameRows(state: AppState, needle: string): NameRow[] {
  const all = state.profiles.flatMap((p) => namesOf(p).map((n) => ({ profile: p.profile, ...n })));
  const q = needle.trim().toLowerCase();
  return q
    ? all.filter((r) => `${r.name.host} ${r.name.object} ${r.name.address ?? ""}`.toLowerCase().includes(q))
    : all;
}

const NameRowView = memo(function NameRowView({ row, api, act }: { row: NameRow; api: TunnelApi; act: Act }) {
  const { name } = row;
  return (
    <tr>
      <td className="mono">{name.host}</td>
      <td>
        {row.kind} {name.object}
        {name.via && name.via.length > 0 ? <span className="muted"> via {name.via.join(", ")}</span> : null}
      </td>
      <td className="mono">{name.address ?? <span className="muted">—</span>}</td>
      <td>
        {nameEndpoints(name).map(({ port, protocol, copy, url, state }) => (
          <PortLinks
            key={port}
            port={port}
            protocol={protocol}
            pill={state ? { state, label: PORT_STATE[state] } : undefined}
            copy={copy}
            url={url}
            open={() => api.openName({ profile: row.profile, host: name.host, port })}
            api={api}
            act={act}
          />
        ))}
      </td>
      <td>
        {name.mapped ? (
          <span className="pill route-active">mapped</span>
        ) : (
          <>
            <span className="pill route-pending">not mapped</span> {name.reason ?? ""}
            {name.curl ? (
              <button
                className="link"
                onClick={() => void act("Copy", () => api.copy(name.curl!))}
                aria-label={`Copy ${name.curl}`}
                title={name.curl}
              >
                copy curl --resolve
              </button>
            ) : null}
          </>
        )}
      </td>
    </tr>
  );
});

/**
 * The cluster's Ingress hosts and Gateway hostnames (docs/architecture.md, "Ingress and Gateway names"): where each
 * answers, its ports to copy or open, and why a name is not mapped (with the `curl --resolve` line that reaches it).
 */
export function NamesTable({ rows, api, act }: { rows: readonly NameRow[]; api: TunnelApi; act: Act }) {
  if (rows.length === 0) return null;
  return (
    <section aria-label="Ingress and Gateway names">
      <h2>Ingress and Gateway names</h2>
      <table className="services names">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">From</th>
            <th scope="col">Address</th>
            <th scope="col">Ports</th>
            <th scope="col">On this machine</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <NameRowView
              key={`${row.profile}/${row.kind}/${row.name.object}/${row.name.host}`}
              row={row}
              api={api}
              act={act}
            />
          ))}
        </tbody>
      </table>
    </section>
  );
}

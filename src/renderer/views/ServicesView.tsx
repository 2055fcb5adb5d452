import { memo, useDeferredValue, useMemo, useRef, useState } from "react";
import type { AppState, ServiceView } from "../../shared/app-state.js";
import { serviceEndpoints } from "../../shared/service-address.js";
import type { TunnelApi } from "../../shared/ipc-contract.js";
import type { Act } from "../act.js";
import { PortLinks } from "../components/PortLinks.js";
import { useRowWindow } from "../components/use-row-window.js";
import { NamesTable, nameRows } from "./NamesTable.js";

const OWNER: Record<ServiceView["owner"], string> = {
  "minikube-tunnel": "Minikube Tunnel",
  other: "another controller",
  none: "nobody yet",
};

const ROW_HEIGHT = 34;

const FORWARD_LABEL = {
  listening: "listening",
  "port-in-use": "port in use",
  "udp-not-forwarded": "not forwarded",
  error: "not listening",
} as const;

interface Row {
  readonly profile: string;
  readonly lbMode: string;
  readonly service: ServiceView;
}

const ServiceRow = memo(function ServiceRow({
  row,
  index,
  api,
  act,
}: {
  row: Row;
  index: number;
  api: TunnelApi;
  act: Act;
}) {
  const { service, lbMode } = row;
  const ip = service.externalIps
    .map((i) => i.ip ?? i.hostname)
    .filter(Boolean)
    .join(", ");
  return (
    <tr aria-rowindex={index + 2} style={{ height: ROW_HEIGHT }}>
      <td>{service.namespace}</td>
      <td>{service.name}</td>
      <td>
        {serviceEndpoints(service).map(({ port, protocol, address, url, forward }) => (
          <PortLinks
            key={`${port}/${protocol}`}
            port={port}
            protocol={protocol}
            pill={
              forward && forward.state !== "listening"
                ? { state: forward.state, label: FORWARD_LABEL[forward.state], title: forward.error }
                : undefined
            }
            copy={address}
            url={url}
            open={() =>
              api.openService({ profile: row.profile, namespace: service.namespace, name: service.name, port })
            }
            api={api}
            act={act}
          />
        ))}
      </td>
      <td className="mono">
        {ip || <span className="muted">{service.pending ? `pending: ${service.pending}` : "pending"}</span>}
      </td>
      <td>
        {lbMode === "off" ? "—" : lbMode}
        {service.externalIps[0]?.ipMode ? ` · ${service.externalIps[0].ipMode}` : ""}
      </td>
      <td>{OWNER[service.owner]}</td>
    </tr>
  );
});

export function ServicesView({ state, api, act }: { state: AppState; api: TunnelApi; act: Act }) {
  const [filter, setFilter] = useState("");
  const deferred = useDeferredValue(filter);
  const scroller = useRef<HTMLDivElement>(null);
  const rows = useMemo(() => {
    const all: Row[] = state.profiles.flatMap((p) =>
      p.services.map((s) => ({ profile: p.profile, lbMode: p.lbMode ?? "off", service: s })),
    );
    const needle = deferred.trim().toLowerCase();
    return needle
      ? all.filter((r) =>
          `${r.service.namespace}/${r.service.name} ${r.service.externalIps.map((i) => i.ip).join(" ")}`
            .toLowerCase()
            .includes(needle),
        )
      : all;
  }, [state, deferred]);
  const names = useMemo(() => nameRows(state, deferred), [state, deferred]);
  const { start, end } = useRowWindow(rows.length, ROW_HEIGHT, scroller);
  const running = state.profiles.some((p) => p.running);
  return (
    <div className="view">
      <label className="filter">
        Filter{" "}
        <input
          type="search"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          placeholder="namespace/name, host or IP"
        />
        <span className="muted">
          {rows.length} Service{rows.length === 1 ? "" : "s"}
          {names.length > 0 ? `, ${names.length} name${names.length === 1 ? "" : "s"}` : ""}
        </span>
      </label>
      {rows.length === 0 ? (
        <p className="empty">
          {running
            ? "No LoadBalancer Services match."
            : "Start a tunnel to see LoadBalancer Services and their external IPs."}
        </p>
      ) : (
        <div className="table-scroll" ref={scroller}>
          <table className="services" data-rows={rows.length} aria-rowcount={rows.length + 1}>
            <thead>
              <tr aria-rowindex={1}>
                <th scope="col">Namespace</th>
                <th scope="col">Name</th>
                <th scope="col">Ports</th>
                <th scope="col">External IP</th>
                <th scope="col">Mode</th>
                <th scope="col">External IP set by</th>
              </tr>
            </thead>
            <tbody>
              {start > 0 ? (
                <tr aria-hidden="true" className="spacer-row" style={{ height: start * ROW_HEIGHT }} />
              ) : null}
              {rows.slice(start, end).map((row, i) => (
                <ServiceRow
                  key={`${row.profile}/${row.service.namespace}/${row.service.name}`}
                  row={row}
                  index={start + i}
                  api={api}
                  act={act}
                />
              ))}
              {end < rows.length ? (
                <tr aria-hidden="true" className="spacer-row" style={{ height: (rows.length - end) * ROW_HEIGHT }} />
              ) : null}
            </tbody>
          </table>
        </div>
      )}
      <NamesTable rows={names} api={api} act={act} />
    </div>
  );
}

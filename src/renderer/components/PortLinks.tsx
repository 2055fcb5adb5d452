import type { TunnelApi } from "../../shared/ipc-contract.js";
import type { Act } from "../act.js";

/** The state pill a port shows beside its number, when it has one worth showing. */
export interface PortPill {
  readonly state: string;
  readonly label: string;
  readonly title?: string;
}

/**
 * One port of a Service or an Ingress/Gateway name: its number, an optional state pill, and the buttons that copy
 * its address and open its URL. Both tables of the Services view show ports this way, so they read alike.
 */
export function PortLinks({
  port,
  protocol,
  pill,
  copy,
  url,
  open,
  api,
  act,
}: {
  port: number;
  protocol: string;
  pill?: PortPill;
  copy?: string | null;
  url?: string | null;
  open: () => Promise<unknown>;
  api: TunnelApi;
  act: Act;
}) {
  return (
    <span className="port">
      <span className="mono">
        {port}/{protocol}
      </span>
      {pill ? (
        <span className={`pill forward-${pill.state}`} title={pill.title}>
          {pill.label}
        </span>
      ) : null}
      {copy ? (
        <button className="link" onClick={() => void act("Copy", () => api.copy(copy))} aria-label={`Copy ${copy}`}>
          copy
        </button>
      ) : null}
      {url ? (
        <button className="link" onClick={() => void act("Open", open)} aria-label={`Open ${url} in the browser`}>
          open
        </button>
      ) : null}
    </span>
  );
}

import { useEffect, useState } from "react";
import type { TunnelApi } from "../../shared/ipc-contract.js";

/** The session log, newest last; refreshed while the view is open. */
export function LogsView({ api }: { api: TunnelApi }) {
  const [lines, setLines] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const load = () =>
      api.getLogs(1000).then(
        (l) => live && setLines(l),
        (e: unknown) => live && setError((e as Error).message),
      );
    void load();
    const timer = setInterval(load, 2000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [api]);
  if (error)
    return (
      <p className="banner error" role="alert">
        Logs could not be read: {error}
      </p>
    );
  if (!lines) return <p className="muted">Loading…</p>;
  if (lines.length === 0) return <p className="empty">Nothing logged yet.</p>;
  // A named region that takes focus, so the scrollable log can be read and scrolled from the keyboard.
  return (
    <pre className="logs" role="region" aria-label="Session log" tabIndex={0}>
      {lines.join("\n")}
    </pre>
  );
}

import { useCallback, useEffect, useState } from "react";
import { conflictsOf } from "../shared/app-state.js";
import { VIEWS, type ViewName } from "../shared/ipc-contract.js";
import type { TunnelApi } from "../shared/ipc-contract.js";
import { Tabs } from "./components/Tabs.js";
import { useAppState } from "./use-app-state.js";
import { ConflictsView } from "./views/ConflictsView.js";
import { LogsView } from "./views/LogsView.js";
import { PreferencesView } from "./views/PreferencesView.js";
import { ServicesView } from "./views/ServicesView.js";
import { TunnelsView } from "./views/TunnelsView.js";
import type { Act } from "./act.js";

const LABELS: Record<ViewName, string> = {
  tunnels: "Tunnels",
  conflicts: "Conflicts",
  services: "Services",
  logs: "Logs",
  preferences: "Preferences",
};

function viewFromHash(): ViewName | "quitting" {
  const hash = window.location.hash.replace(/^#/, "");
  if (hash === "quitting") return "quitting";
  return (VIEWS as readonly string[]).includes(hash) ? (hash as ViewName) : "tunnels";
}

export function App({ api }: { api: TunnelApi }) {
  const state = useAppState(api);
  const [view, setView] = useState(viewFromHash);
  const [actionError, setActionError] = useState<string | null>(null);

  const select = useCallback((next: ViewName) => {
    setView(next);
    window.history.replaceState(null, "", `#${next}`);
  }, []);
  useEffect(() => api.onShowView(select), [api, select]);

  /** Runs a call to main; a refusal or failure is shown, not lost. */
  const act: Act = useCallback(async (what: string, call: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await call();
    } catch (error) {
      setActionError(
        `${what}: ${(error as Error).message.replace(/^Error invoking remote method '[^']+': (Error: )?/, "")}`,
      );
    }
  }, []);

  if (view === "quitting") {
    return (
      <main className="quitting" role="status" aria-live="polite">
        <p>Removing routes and releasing external IPs…</p>
      </main>
    );
  }
  if (!state)
    return (
      <main className="loading" aria-busy="true">
        Loading…
      </main>
    );

  const conflicts = conflictsOf(state).length;
  const services = state.profiles.reduce((n, p) => n + p.services.length, 0);
  return (
    <div className="app">
      <header className="topbar">
        <h1>Minikube Tunnel</h1>
        <Tabs
          tabs={VIEWS.map((id) => ({
            id,
            label: LABELS[id],
            ...(id === "conflicts" ? { badge: conflicts } : id === "services" ? { badge: services } : {}),
          }))}
          active={view}
          onSelect={select}
        />
        {/* Always in sight: on GNOME without a tray this is the only way to quit. */}
        <button className="quiet quit" onClick={() => void act("Quit", () => api.quit())}>
          Quit
        </button>
      </header>
      {state.error ? (
        <div className="banner error" role="alert">
          {state.error}
        </div>
      ) : null}
      {actionError ? (
        <div className="banner error" role="alert">
          {actionError}
        </div>
      ) : null}
      <main>
        <div id={`panel-${view}`} role="tabpanel" aria-labelledby={`tab-${view}`} tabIndex={0}>
          {view === "tunnels" && <TunnelsView state={state} api={api} act={act} />}
          {view === "conflicts" && <ConflictsView state={state} api={api} act={act} />}
          {view === "services" && <ServicesView state={state} api={api} act={act} />}
          {view === "logs" && <LogsView api={api} />}
          {view === "preferences" && <PreferencesView api={api} profiles={state.profiles.map((p) => p.profile)} />}
        </div>
      </main>
    </div>
  );
}

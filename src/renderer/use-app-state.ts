import { useEffect, useState } from "react";
import type { AppState } from "../shared/app-state.js";
import type { TunnelApi } from "../shared/ipc-contract.js";

/** The latest state: fetched once, then pushed by main on every change. */
export function useAppState(api: TunnelApi): AppState | null {
  const [state, setState] = useState<AppState | null>(null);
  useEffect(() => {
    let live = true;
    const off = api.onState((next) => live && setState(next));
    void api.getState().then((first) => live && setState((current) => current ?? first));
    return () => {
      live = false;
      off();
    };
  }, [api]);
  return state;
}

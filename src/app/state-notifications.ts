import type { AppState } from "../shared/app-state.js";

export interface AppNotification {
  readonly kind: "conflict" | "node-stopped" | "cleanup-failed";
  readonly title: string;
  readonly body: string;
}

/** What changed between two states that the user should hear about even with the window closed. */
export function notificationsBetween(previous: AppState, next: AppState): AppNotification[] {
  const notes: AppNotification[] = [];
  const before = new Map(previous.profiles.map((p) => [p.profile, p]));
  for (const profile of next.profiles) {
    const old = before.get(profile.profile);
    const oldConflicts = new Set(old?.routes.filter((r) => r.state === "conflict").map((r) => r.cidr));
    for (const route of profile.routes) {
      if (route.state !== "conflict" || oldConflicts.has(route.cidr)) continue;
      notes.push({
        kind: "conflict",
        title: `Route conflict: ${route.cidr}`,
        body: route.conflict?.message ?? `${route.cidr} overlaps an existing route; it was not added`,
      });
    }
    if (old?.phase === "active" && profile.phase === "waiting-for-node") {
      notes.push({
        kind: "node-stopped",
        title: `Tunnel for ${profile.profile} stopped`,
        body:
          profile.mode === "forward"
            ? "The minikube node stopped, so its forwards are waiting. They come back when the node runs again."
            : "The minikube node stopped, so its routes were removed. They come back when the node runs again.",
      });
    }
  }
  return notes;
}

/**
 * The tray menu as plain data, so it can be tested without Electron (Playwright
 * cannot drive native menus). Items carry stable ids; `action` names what the
 * main process does on click. Electron's Menu.buildFromTemplate takes the same shape.
 */
export type MenuAction =
  | { type: "start"; profile: string }
  | { type: "stop"; profile: string }
  | { type: "set-mode"; profile: string; mode: "auto" | "route" | "forward" }
  | { type: "open-conflicts" }
  | { type: "open-services" }
  | { type: "copy"; text: string }
  | { type: "open-url"; url: string }
  | { type: "cleanup" }
  | { type: "open-window" }
  | { type: "open-preferences" }
  | { type: "quit" };

export interface MenuItem {
  readonly id: string;
  readonly label?: string;
  readonly type?: "separator" | "normal" | "submenu";
  readonly enabled?: boolean;
  readonly action?: MenuAction;
  readonly submenu?: readonly MenuItem[];
}

import { type AppState, type TrayIconState, trayIconState } from "../../shared/app-state.js";
import { buildTrayMenu, type MenuItem } from "./tray-menu.js";

/** The part of Electron's Tray we use. */
export interface TrayLike {
  setImage(image: never): void;
  setContextMenu(menu: never): void;
}

export interface TrayRendererDeps<Image, Menu> {
  image(state: TrayIconState): Image;
  menu(items: readonly MenuItem[]): Menu;
}

/**
 * Draws the tray from state, touching Electron only when what it shows
 * changed: a state push for a Service the menu does not list (it lists at
 * most MAX_TRAY_SERVICES), or a probe that only changed its latency, costs a
 * string compare, not a native menu rebuild.
 */
export class TrayRenderer<Image, Menu> {
  private lastIcon: TrayIconState | null = null;
  private lastMenu = "";
  rebuilds = 0;

  constructor(
    private readonly tray: { setImage(image: Image): void; setContextMenu(menu: Menu): void },
    private readonly deps: TrayRendererDeps<Image, Menu>,
  ) {}

  render(state: AppState): void {
    const icon = trayIconState(state);
    if (icon !== this.lastIcon) {
      this.tray.setImage(this.deps.image(icon));
      this.lastIcon = icon;
    }
    const items = buildTrayMenu(state);
    const key = JSON.stringify(items);
    if (key === this.lastMenu) return;
    this.lastMenu = key;
    this.rebuilds++;
    this.tray.setContextMenu(this.deps.menu(items));
  }

  /** The theme changed: the same state needs other images. */
  invalidateIcon(): void {
    this.lastIcon = null;
  }
}

/**
 * Draws the tray icons (one per state; light, dark and macOS template
 * variants, at 1x and 2x) and the app icon from simple shapes, and writes
 * them as PNG into assets/. Run with `npm run icons`; the output is committed.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import { TRAY_STATES, trayIconName, type TrayIconVariant } from "../src/main/tray/tray-icons.js";
import type { TrayIconState } from "../src/shared/app-state.js";

type Rgba = [number, number, number, number];
/** Coverage of a shape at a point in a 16×16 design grid, 0..1. */
type Shape = (x: number, y: number) => number;

const ring =
  (cx: number, cy: number, r: number, width: number): Shape =>
  (x, y) =>
    Math.abs(Math.hypot(x - cx, y - cy) - r) <= width / 2 ? 1 : 0;
const disc =
  (cx: number, cy: number, r: number): Shape =>
  (x, y) =>
    Math.hypot(x - cx, y - cy) <= r ? 1 : 0;
const diamond =
  (cx: number, cy: number, r: number): Shape =>
  (x, y) =>
    Math.abs(x - cx) + Math.abs(y - cy) <= r ? 1 : 0;
const cross =
  (cx: number, cy: number, r: number, width: number): Shape =>
  (x, y) => {
    const dx = x - cx;
    const dy = y - cy;
    if (Math.abs(dx) > r || Math.abs(dy) > r) return 0;
    return Math.abs(dx - dy) / Math.SQRT2 <= width / 2 || Math.abs(dx + dy) / Math.SQRT2 <= width / 2 ? 1 : 0;
  };
const roundedSquare =
  (inset: number, radius: number): Shape =>
  (x, y) => {
    const qx = Math.max(Math.abs(x - 8) - (8 - inset - radius), 0);
    const qy = Math.max(Math.abs(y - 8) - (8 - inset - radius), 0);
    return Math.hypot(qx, qy) <= radius ? 1 : 0;
  };

function render(size: number, layers: [Shape, Rgba][]): Buffer {
  const samples = 4;
  const pixels = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let [r, g, b, a] = [0, 0, 0, 0];
      for (const [shape, [cr, cg, cb, ca]] of layers) {
        let cover = 0;
        for (let sy = 0; sy < samples; sy++)
          for (let sx = 0; sx < samples; sx++)
            cover += shape(((px + (sx + 0.5) / samples) * 16) / size, ((py + (sy + 0.5) / samples) * 16) / size);
        const alpha = (cover / (samples * samples)) * (ca / 255);
        // "over" compositing, straight alpha
        const outA = alpha + a * (1 - alpha);
        if (outA > 0) {
          r = (cr * alpha + r * a * (1 - alpha)) / outA;
          g = (cg * alpha + g * a * (1 - alpha)) / outA;
          b = (cb * alpha + b * a * (1 - alpha)) / outA;
        }
        a = outA;
      }
      pixels.set([Math.round(r), Math.round(g), Math.round(b), Math.round(a * 255)], (py * size + px) * 4);
    }
  }
  return png(size, pixels);
}

function png(size: number, rgba: Buffer): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8);
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

const INK: Record<TrayIconVariant, Rgba> = {
  light: [31, 35, 40, 255],
  dark: [240, 243, 246, 255],
  template: [0, 0, 0, 255],
};
const ACCENT: Record<TrayIconState, Record<TrayIconVariant, Rgba | null>> = {
  idle: { light: null, dark: null, template: null },
  active: { light: [26, 127, 55, 255], dark: [63, 185, 80, 255], template: [0, 0, 0, 255] },
  degraded: { light: [188, 76, 0, 255], dark: [240, 136, 62, 255], template: [0, 0, 0, 255] },
  conflict: { light: [154, 103, 0, 255], dark: [210, 153, 34, 255], template: [0, 0, 0, 255] },
  error: { light: [209, 36, 47, 255], dark: [248, 81, 73, 255], template: [0, 0, 0, 255] },
};
// Degraded: a hollow dot, the active dot with nothing getting through.
const GLYPH: Record<TrayIconState, Shape | null> = {
  idle: null,
  active: disc(8, 8, 3),
  degraded: ring(8, 8, 2.4, 1.4),
  conflict: diamond(8, 8, 3.6),
  error: cross(8, 8, 3, 1.7),
};

async function main(): Promise<void> {
  const out = join(import.meta.dirname, "..", "assets");
  await mkdir(join(out, "tray"), { recursive: true });
  for (const state of TRAY_STATES) {
    for (const variant of ["light", "dark", "template"] as const) {
      const layers: [Shape, Rgba][] = [[ring(8, 8, 6.2, 1.6), INK[variant]]];
      const glyph = GLYPH[state];
      const accent = ACCENT[state][variant];
      if (glyph && accent) layers.push([glyph, accent]);
      for (const scale of [1, 2] as const)
        await writeFile(join(out, "tray", trayIconName(state, variant, scale)), render(16 * scale, layers));
    }
  }
  const appLayers: [Shape, Rgba][] = [
    [roundedSquare(0.6, 3.2), [50, 108, 229, 255]],
    [ring(8, 8, 4.4, 1.3), [255, 255, 255, 255]],
    [disc(8, 8, 2), [255, 255, 255, 255]],
  ];
  await writeFile(join(out, "icon.png"), render(512, appLayers));
}

await main();

import { type RefObject, useCallback, useEffect, useState } from "react";

/**
 * Which rows of a long list are near the viewport. Rows have a fixed height,
 * so only those (plus a margin) are in the DOM: 2,000 Services stay as cheap
 * to lay out as 60 (the UI benchmark, README "Benchmarks").
 */
export function useRowWindow(
  count: number,
  rowHeight: number,
  scroller: RefObject<HTMLElement | null>,
  overscan = 15,
): { start: number; end: number } {
  const compute = useCallback(() => {
    const el = scroller.current;
    const top = el?.scrollTop ?? 0;
    const height = el?.clientHeight || 800;
    const start = Math.max(0, Math.floor(top / rowHeight) - overscan);
    return { start, end: Math.min(count, Math.ceil((top + height) / rowHeight) + overscan) };
  }, [count, rowHeight, scroller, overscan]);
  const [range, setRange] = useState(compute);
  useEffect(() => {
    const el = scroller.current;
    const update = () =>
      setRange((old) => {
        const next = compute();
        return old.start === next.start && old.end === next.end ? old : next;
      });
    update();
    el?.addEventListener("scroll", update, { passive: true });
    window.addEventListener("resize", update);
    return () => {
      el?.removeEventListener("scroll", update);
      window.removeEventListener("resize", update);
    };
  }, [compute, scroller]);
  return range;
}

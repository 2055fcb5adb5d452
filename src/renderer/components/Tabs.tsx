import { type KeyboardEvent, useRef } from "react";

export interface TabDef<T extends string> {
  readonly id: T;
  readonly label: string;
  readonly badge?: number;
}

/** WAI-ARIA tabs: arrow keys move between tabs, Home/End jump, Tab leaves the list. */
export function Tabs<T extends string>({
  tabs,
  active,
  onSelect,
}: {
  tabs: readonly TabDef<T>[];
  active: T;
  onSelect: (id: T) => void;
}) {
  const refs = useRef(new Map<T, HTMLButtonElement>());
  const move = (event: KeyboardEvent, index: number) => {
    const last = tabs.length - 1;
    const next =
      event.key === "ArrowRight" || event.key === "ArrowDown"
        ? index === last
          ? 0
          : index + 1
        : event.key === "ArrowLeft" || event.key === "ArrowUp"
          ? index === 0
            ? last
            : index - 1
          : event.key === "Home"
            ? 0
            : event.key === "End"
              ? last
              : null;
    if (next === null) return;
    event.preventDefault();
    const tab = tabs[next]!;
    onSelect(tab.id);
    refs.current.get(tab.id)?.focus();
  };
  return (
    <nav className="tabs" role="tablist" aria-label="Views">
      {tabs.map((tab, index) => (
        <button
          key={tab.id}
          ref={(el) => void (el ? refs.current.set(tab.id, el) : refs.current.delete(tab.id))}
          role="tab"
          id={`tab-${tab.id}`}
          aria-selected={tab.id === active}
          aria-controls={`panel-${tab.id}`}
          tabIndex={tab.id === active ? 0 : -1}
          className="tab"
          onClick={() => onSelect(tab.id)}
          onKeyDown={(event) => move(event, index)}
        >
          {tab.label}
          {tab.badge ? (
            <>
              {/* Read as "Conflicts (1)"; the visible badge is decoration. */}
              <span className="sr-only"> ({tab.badge})</span>
              <span className="badge" aria-hidden="true">
                {tab.badge}
              </span>
            </>
          ) : null}
        </button>
      ))}
    </nav>
  );
}

import { ApiError, type KubeObject } from "./api-error.js";

type Labels = Readonly<Record<string, string>>;
type Requirement = (labels: Labels) => boolean;

const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function invalid(text: string, why: string): never {
  throw new ApiError(400, "BadRequest", `unable to parse requirement: ${why} in "${text}"`);
}

/** Splits on commas outside parentheses, as the apiserver's lexer does. */
function terms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = "";
  for (const c of selector) {
    if (c === "(") depth++;
    if (c === ")") depth--;
    if (c === "," && depth === 0) {
      out.push(current.trim());
      current = "";
    } else current += c;
  }
  out.push(current.trim());
  return out.filter((t) => t !== "");
}

function checkKey(key: string, text: string): string {
  if (!KEY.test(key)) invalid(text, `invalid label key "${key}"`);
  return key;
}

function values(list: string, text: string): Set<string> {
  const parts = list.split(",").map((v) => v.trim());
  for (const v of parts) if (!VALUE.test(v)) invalid(text, `invalid label value "${v}"`);
  return new Set(parts);
}

function requirement(text: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(text);
  if (set) {
    const key = checkKey(set[1]!, text);
    const wanted = values(set[3]!, text);
    return set[2] === "in" ? (l) => key in l && wanted.has(l[key]!) : (l) => !(key in l) || !wanted.has(l[key]!);
  }
  const compare = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(text);
  if (compare) {
    const key = checkKey(compare[1]!, text);
    const value = compare[3]!;
    if (!VALUE.test(value)) invalid(text, `invalid label value "${value}"`);
    return compare[2] === "!=" ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  if (text.startsWith("!")) {
    const key = checkKey(text.slice(1).trim(), text);
    return (l) => !(key in l);
  }
  const key = checkKey(text, text);
  return (l) => key in l;
}

/** A label selector as list and watch take it (`a=b,c!=d,e in (f,g),!h`); null matches everything. */
export function labelMatcher(selector: string | null): (o: KubeObject) => boolean {
  if (!selector) return () => true;
  const requirements = terms(selector).map(requirement);
  return (o) => {
    const labels: Labels = o.metadata?.labels ?? {};
    return requirements.every((r) => r(labels));
  };
}

function fieldValue(o: KubeObject, path: string): string {
  let value: unknown = o;
  for (const part of path.split(".")) value = (value as KubeObject | undefined)?.[part];
  return value === undefined || value === null ? "" : String(value);
}

/**
 * A field selector (`metadata.name=x`, `spec.nodeName!=`, `status.phase==Running`): the apiserver supports a few
 * fields per kind, and every one of them is a plain path into the object.
 */
export function fieldMatcher(selector: string | null): (o: KubeObject) => boolean {
  if (!selector) return () => true;
  const checks = terms(selector).map((text) => {
    const match = /^([A-Za-z0-9.]+)\s*(==|=|!=)\s*(.*)$/.exec(text);
    if (!match) throw new ApiError(400, "BadRequest", `invalid field selector: "${text}"`);
    const [, path, op, value] = match;
    return op === "!="
      ? (o: KubeObject) => fieldValue(o, path!) !== value
      : (o: KubeObject) => fieldValue(o, path!) === value;
  });
  return (o) => checks.every((check) => check(o));
}

/** Both selectors of one request. */
export function selectorMatcher(params: URLSearchParams): (o: KubeObject) => boolean {
  const byField = fieldMatcher(params.get("fieldSelector"));
  const byLabel = labelMatcher(params.get("labelSelector"));
  return (o) => byField(o) && byLabel(o);
}

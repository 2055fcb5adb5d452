/**
 * Windows security descriptors, as the text Windows itself writes them
 * (SDDL: ConvertSecurityDescriptorToStringSecurityDescriptorW; "Security
 * Descriptor String Format", learn.microsoft.com), and the questions root
 * asks of one: who may read it, who may change it. On Windows a file's mode
 * means nothing (Node reports 0666 for every file); these rules stand where
 * POSIX checks an owner and mode bits (docs/security.md, "Windows: the
 * helper's channel").
 */

/** Well-known SIDs (learn.microsoft.com, "Well-known SIDs"). */
export const SID = {
  SYSTEM: "S-1-5-18",
  ADMINISTRATORS: "S-1-5-32-544",
  TRUSTED_INSTALLER: "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
  EVERYONE: "S-1-1-0",
  OWNER_RIGHTS: "S-1-3-4",
  CREATOR_OWNER: "S-1-3-0",
} as const;

/** SDDL's two-letter names for SIDs ("SID Strings"). */
const ALIASES: Record<string, string> = {
  SY: SID.SYSTEM,
  BA: SID.ADMINISTRATORS,
  WD: SID.EVERYONE,
  OW: SID.OWNER_RIGHTS,
  CO: SID.CREATOR_OWNER,
  CG: "S-1-3-1",
  BU: "S-1-5-32-545",
  BG: "S-1-5-32-546",
  PU: "S-1-5-32-547",
  AU: "S-1-5-11",
  IU: "S-1-5-4",
  NU: "S-1-5-2",
  SU: "S-1-5-6",
  AN: "S-1-5-7",
  LS: "S-1-5-19",
  NS: "S-1-5-20",
  RD: "S-1-5-32-555",
  AC: "S-1-15-2-1",
};

/** SDDL's names for access rights ("Ace Strings"). */
const RIGHTS: Record<string, number> = {
  GA: 0x10000000,
  GR: 0x80000000,
  GW: 0x40000000,
  GX: 0x20000000,
  FA: 0x1f01ff,
  FR: 0x120089,
  FW: 0x120116,
  FX: 0x1200a0,
  RC: 0x20000,
  SD: 0x10000,
  WD: 0x40000,
  WO: 0x80000,
  CC: 0x1,
  DC: 0x2,
  LC: 0x4,
  SW: 0x8,
  RP: 0x10,
  WP: 0x20,
  DT: 0x40,
  LO: 0x80,
  CR: 0x100,
};

/** Reading a file's data, or rights that let one grant oneself that (WRITE_DAC, WRITE_OWNER). */
const READ = 0x1 | 0x40000 | 0x80000 | RIGHTS.GA! | RIGHTS.GR!;
/**
 * Changing what is there: write or append data (add a file or folder to a directory), delete it or a child, change its
 * DACL or owner. Attributes and extended attributes change no content and are left out.
 */
const WRITE = 0x2 | 0x4 | 0x40 | 0x10000 | 0x40000 | 0x80000 | RIGHTS.GA! | RIGHTS.GW!;

export interface Ace {
  readonly allow: boolean;
  /** Inherit-only: a template for children, which does not apply to the object itself. */
  readonly inheritOnly: boolean;
  readonly rights: number;
  readonly sid: string;
}

export interface SecurityDescriptor {
  readonly owner: string | null;
  /** null: no DACL at all, which grants everyone everything. */
  readonly dacl: readonly Ace[] | null;
}

const sidOf = (text: string) => ALIASES[text] ?? text;

function rightsOf(text: string): number {
  if (/^0x[0-9a-f]+$/i.test(text)) return Number(text);
  let rights = 0;
  for (let i = 0; i < text.length; i += 2) {
    const bits = RIGHTS[text.slice(i, i + 2)];
    // A right this reader does not know is counted as everything: it can only make a check stricter.
    rights |= bits ?? 0xffffffff;
  }
  return rights >>> 0;
}

export function parseSddl(text: string): SecurityDescriptor {
  const owner = /O:(S-[0-9-]+|[A-Z]{2})/.exec(text)?.[1];
  const dacl = /D:([A-Z_]*)((?:\([^)]*\))*)/.exec(text);
  if (!dacl || dacl[1]!.includes("NO_ACCESS_CONTROL")) return { owner: owner ? sidOf(owner) : null, dacl: null };
  const aces = [...dacl[2]!.matchAll(/\(([^)]*)\)/g)].map((m): Ace => {
    const [type = "", flags = "", rights = "", , , sid = ""] = m[1]!.split(";");
    return {
      // Allowed, object-allowed and callback-allowed ACEs grant; every other kind is read as not granting.
      allow: type === "A" || type === "OA" || type === "XA" || type === "ZA",
      inheritOnly: flags.includes("IO"),
      rights: rightsOf(rights),
      sid: sidOf(sid),
    };
  });
  return { owner: owner ? sidOf(owner) : null, dacl: aces };
}

/**
 * The SIDs other than `trusted` that an ACE applying to the object itself grants any of `mask` (OWNER RIGHTS stands
 * for the owner). A missing DACL grants everyone. Deny ACEs are not subtracted: the answer can only be stricter.
 */
function grantedBeyond(sd: SecurityDescriptor, mask: number, trusted: ReadonlySet<string>): string[] {
  if (sd.dacl === null) return [SID.EVERYONE];
  const who = new Set<string>();
  for (const ace of sd.dacl) {
    if (!ace.allow || ace.inheritOnly || (ace.rights & mask) === 0) continue;
    const sid = ace.sid === SID.OWNER_RIGHTS || ace.sid === SID.CREATOR_OWNER ? (sd.owner ?? ace.sid) : ace.sid;
    if (!trusted.has(sid)) who.add(sid);
  }
  return [...who];
}

/** Who besides `trusted` can read it (or give themselves the right to). */
export function readersBeyond(sd: SecurityDescriptor, trusted: Iterable<string>): string[] {
  return grantedBeyond(sd, READ, new Set(trusted));
}

/** Who besides `trusted` can change, add to, delete, or take it over. */
export function writersBeyond(sd: SecurityDescriptor, trusted: Iterable<string>): string[] {
  return grantedBeyond(sd, WRITE, new Set(trusted));
}

/**
 * Root's own file or directory on Windows: owned by SYSTEM, Administrators, TrustedInstaller or the account this
 * process runs as, and changeable by nobody else. The account itself is trusted because it is the one elevated: under
 * UAC an administrator's own files are theirs to change anyway, while another user's never pass. Answers what is wrong,
 * or null.
 */
export function notRootOwned(sd: SecurityDescriptor, self: string): string | null {
  const trusted = [SID.SYSTEM, SID.ADMINISTRATORS, SID.TRUSTED_INSTALLER, self];
  if (!sd.owner || !trusted.includes(sd.owner)) return `it is owned by ${sd.owner ?? "nobody"}`;
  const writers = writersBeyond(sd, trusted);
  return writers.length > 0 ? `${writers.join(", ")} can change it` : null;
}

/** Root's own folders (the runtime directory): SYSTEM and Administrators alone, nothing inherited from above. */
export const ROOT_ONLY_SDDL = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";
/** Installed code and its record: changed by SYSTEM and Administrators, read and run by every user. */
export const ROOT_CODE_SDDL = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)";
/** A file of root's that one user reads (the installed helper's secret and port): SYSTEM, Administrators, that user. */
export const rootFileForUser = (userSid: string) => `D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;${userSid})`;

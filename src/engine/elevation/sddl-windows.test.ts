import { describe, expect, it } from "vitest";
import { SID, notRootOwned, parseSddl, readersBeyond, writersBeyond } from "./sddl-windows.js";

const USER = "S-1-5-21-1004336348-1177238915-682003330-1001";
const OTHER = "S-1-5-21-1004336348-1177238915-682003330-1002";
const WINE_USER = "S-1-5-21-0-0-0-1000";

/**
 * Descriptors as Windows 10 writes them (icacls /save, Get-Acl's Sddl) for the places the helper uses, and as Wine 8
 * reports a file from its Unix mode (no ACL is stored there: owner is always the Wine user, SYSTEM always has full
 * access, other users appear as Everyone).
 */
const SDDL = {
  /** C:\ProgramData: any user may add files and folders (CI applies to the folder itself). */
  programData:
    "O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICIIO;GA;;;CO)(A;OICI;0x1200a9;;;BU)(A;CI;DCLCRPCR;;;BU)",
  /** A folder a user made there first: theirs, and Users may still add to it. */
  userMadeInProgramData: `O:${USER}G:${USER}D:AI(A;ID;FA;;;${USER})(A;OICIIOID;GA;;;CO)(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;0x1200a9;;;BU)(A;CIID;DCLCRPCR;;;BU)`,
  /** The same folder made by an elevated administrator, inheriting ProgramData's ACL. */
  adminMadeInherited:
    "O:BAG:S-1-5-21-1004336348-1177238915-682003330-513D:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIIOID;GA;;;CO)(A;OICIID;0x1200a9;;;BU)(A;CIID;DCLCRPCR;;;BU)",
  /** What the helper creates: protected, SYSTEM and Administrators only. */
  ours: "O:BAG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)",
  /** The client's secret, as it creates it: its owner, SYSTEM and Administrators. */
  secret: `O:${USER}D:P(A;;FA;;;OW)(A;;FA;;;SY)(A;;FA;;;BA)`,
  /** A file under a user's profile, by inheritance. */
  profileFile: `O:${USER}G:${USER}D:AI(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;FA;;;${USER})`,
  /** Wine: a 0600 file and a 0644 one; a 0777 directory. */
  wine600: `O:${WINE_USER}D:(A;;FA;;;SY)(A;;FA;;;${WINE_USER})`,
  wine644: `O:${WINE_USER}D:(A;;FA;;;SY)(A;;FA;;;${WINE_USER})(A;;0x1200a9;;;WD)`,
  wine777dir: `O:${WINE_USER}D:(A;OICI;FA;;;SY)(A;OICI;FA;;;${WINE_USER})(A;OICI;0x1301bf;;;WD)`,
};

describe("Windows security descriptors", () => {
  it("reads owners, ACEs, aliases, rights letters and hex masks", () => {
    const sd = parseSddl(SDDL.programData);
    expect(sd.owner).toBe(SID.SYSTEM);
    expect(sd.dacl).toEqual([
      { allow: true, inheritOnly: false, rights: 0x1f01ff, sid: SID.SYSTEM },
      { allow: true, inheritOnly: false, rights: 0x1f01ff, sid: SID.ADMINISTRATORS },
      { allow: true, inheritOnly: true, rights: 0x10000000, sid: SID.CREATOR_OWNER },
      { allow: true, inheritOnly: false, rights: 0x1200a9, sid: "S-1-5-32-545" },
      { allow: true, inheritOnly: false, rights: 0x2 | 0x4 | 0x10 | 0x100, sid: "S-1-5-32-545" },
    ]);
    expect(parseSddl("O:BAD:NO_ACCESS_CONTROL").dacl).toBeNull();
    expect(parseSddl("O:BA").dacl).toBeNull();
  });

  it("the client's secret: readable by its owner, SYSTEM and Administrators, and by nobody else", () => {
    const trusted = (sddl: string) => [SID.SYSTEM, SID.ADMINISTRATORS, parseSddl(sddl).owner!];
    for (const sddl of [SDDL.secret, SDDL.profileFile, SDDL.wine600])
      expect(readersBeyond(parseSddl(sddl), trusted(sddl))).toEqual([]);
    expect(readersBeyond(parseSddl(SDDL.wine644), trusted(SDDL.wine644))).toEqual([SID.EVERYONE]);
    expect(readersBeyond(parseSddl(`${SDDL.secret}(A;;FR;;;${OTHER})`), trusted(SDDL.secret))).toEqual([OTHER]);
    // WRITE_DAC alone is as good as read: its holder grants itself the rest.
    expect(readersBeyond(parseSddl(`${SDDL.secret}(A;;WD;;;AU)`), trusted(SDDL.secret))).toEqual(["S-1-5-11"]);
    expect(readersBeyond(parseSddl(`O:${USER}D:NO_ACCESS_CONTROL`), trusted(SDDL.secret))).toEqual([SID.EVERYONE]);
  });

  it("root's directories: made by another user, or open to Users, they are refused; the helper's own pass", () => {
    const admin = "S-1-5-21-1004336348-1177238915-682003330-500";
    expect(notRootOwned(parseSddl(SDDL.userMadeInProgramData), admin)).toBe(`it is owned by ${USER}`);
    expect(notRootOwned(parseSddl(SDDL.adminMadeInherited), admin)).toBe("S-1-5-32-545 can change it");
    expect(notRootOwned(parseSddl(SDDL.programData), admin)).toBe("S-1-5-32-545 can change it");
    expect(notRootOwned(parseSddl(SDDL.ours), admin)).toBeNull();
    expect(notRootOwned(parseSddl(SDDL.ours), SID.SYSTEM)).toBeNull();
    // The elevated account's own folder (Wine reports every file as the Wine user's): a change only it could make.
    expect(notRootOwned(parseSddl(SDDL.wine600), WINE_USER)).toBeNull();
    expect(notRootOwned(parseSddl(SDDL.wine777dir), WINE_USER)).toBe(`${SID.EVERYONE} can change it`);
    expect(notRootOwned(parseSddl(SDDL.wine600), SID.SYSTEM)).toBe(`it is owned by ${WINE_USER}`);
  });

  it("counts every right that changes content, and an unknown right as all of them", () => {
    const writers = (rights: string) => writersBeyond(parseSddl(`O:SYD:(A;;${rights};;;BU)`), [SID.SYSTEM]);
    for (const rights of ["DC", "LC", "DT", "SD", "WD", "WO", "GA", "GW", "FA", "FW", "0x2", "ZZ"])
      expect(writers(rights), rights).toEqual(["S-1-5-32-545"]);
    for (const rights of ["FR", "FX", "GR", "0x1200a9", "RPCR"]) expect(writers(rights), rights).toEqual([]);
    // Deny ACEs and inherit-only templates grant nothing to the object itself.
    expect(writersBeyond(parseSddl("O:SYD:(D;;FA;;;BU)(A;OICIIO;FA;;;BU)"), [SID.SYSTEM])).toEqual([]);
  });
});

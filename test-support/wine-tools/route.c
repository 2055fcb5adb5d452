/*
 * A fake route.exe for the Wine lab: a routing table kept in a state file
 * (MKT_FAKE_ROUTE_STATE, else route-state.txt beside the exe), printed the
 * way the real tool prints it.
 *
 * Follows the documented tool: `route /?` (the help text quoted in
 * Microsoft's "route" command reference, learn.microsoft.com, Windows
 * Commands: route_ws2008), including its diagnostic note "(Destination &
 * Mask) != Destination". The print layout (column widths, "On-link", the
 * wrapped IPv6 gateway, the Interface List) is measured on the captures in
 * src/engine/root/routes/fixtures and on public `route print -6` captures;
 * " OK!" and "The route deletion failed: The parameter is incorrect." are as
 * captured on real machines. Like the real tool it exits 0 when an ADD or
 * DELETE fails, saying why on stdout.
 *
 * MKT_FAKE_ROUTE_LANG=fr prints French headings. The French headings are as
 * captured (route print on French Windows 10 keeps "On-link" and the IPv6
 * column header in English); the French failure sentences were not found in
 * a public capture: they are the French system messages for the same errors
 * in route.exe's English frame, so no test may match their exact words.
 *
 * Not supported (fails with exit code 1 and a message on stderr): -f, -p,
 * CHANGE, wildcards and a filter after PRINT. A displayed metric is the
 * interface metric plus the route's (METRIC, default 1), as on Windows 7+.
 *
 * State file lines (UTF-8; tests write it to seed a table):
 *   iface <index> <metric> <mac aa-bb-..|-> <v4/len|-> <v6/len|-> <name>
 *   route4 <dest> <mask> <gateway|On-link> <interface address> <metric>
 *   route6 <if index> <metric> <dest/len> <gateway|On-link>
 */
#include "fake-common.h"
#include "ip-text.h"

#define MAX_ROWS 512

typedef struct {
  int index, metric, has4, len4, has6, len6;
  unsigned v4;
  unsigned char v6[16];
  char mac[32], name[200];
} Iface;

typedef struct {
  int family, onlink, ifindex, metric, len6;
  unsigned dest4, mask4, gw4, if4;
  unsigned char dest6[16], gw6[16];
} Route;

static Iface ifaces[64];
static int n_ifaces;
static Route routes[MAX_ROWS];
static int n_routes;
static int french;

static const char *DEFAULT_STATE =
    "# fake route.exe state: a Windows 10 host with a Hyper-V switch\n"
    "iface 7 25 54-e1-ad-9d-8a-71 192.168.1.20/24 fe80::5d2:1a3b:9c4e:7f10/64 Intel(R) Ethernet Connection (4) I219-LM\n"
    "iface 23 15 00-15-5d-01-6e-02 172.31.16.1/20 fe80::c1a4:6b2e:1f3d:88a1/64 Hyper-V Virtual Ethernet Adapter\n"
    "iface 1 75 - 127.0.0.1/8 ::1/128 Software Loopback Interface 1\n"
    "route4 0.0.0.0 0.0.0.0 192.168.1.1 192.168.1.20 35\n"
    "route4 127.0.0.0 255.0.0.0 On-link 127.0.0.1 331\n"
    "route4 127.0.0.1 255.255.255.255 On-link 127.0.0.1 331\n"
    "route4 127.255.255.255 255.255.255.255 On-link 127.0.0.1 331\n"
    "route4 172.31.16.0 255.255.240.0 On-link 172.31.16.1 271\n"
    "route4 172.31.16.1 255.255.255.255 On-link 172.31.16.1 271\n"
    "route4 172.31.31.255 255.255.255.255 On-link 172.31.16.1 271\n"
    "route4 192.168.1.0 255.255.255.0 On-link 192.168.1.20 281\n"
    "route4 192.168.1.20 255.255.255.255 On-link 192.168.1.20 281\n"
    "route4 192.168.1.255 255.255.255.255 On-link 192.168.1.20 281\n"
    "route4 224.0.0.0 240.0.0.0 On-link 127.0.0.1 331\n"
    "route4 255.255.255.255 255.255.255.255 On-link 127.0.0.1 331\n"
    "route6 1 331 ::1/128 On-link\n"
    "route6 7 281 fe80::/64 On-link\n"
    "route6 23 271 fe80::/64 On-link\n"
    "route6 7 281 fe80::5d2:1a3b:9c4e:7f10/128 On-link\n"
    "route6 23 271 fe80::c1a4:6b2e:1f3d:88a1/128 On-link\n"
    "route6 1 331 ff00::/8 On-link\n";

static void bad_state(const char *line) {
  errf("fake route.exe: unreadable state line: %s\r\n", line);
  ExitProcess(2);
}

static void load(const char *path) {
  char *text = read_file_utf8(path);
  if (!text) {
    write_file_utf8(path, DEFAULT_STATE);
    text = _strdup(DEFAULT_STATE);
  }
  char **lines;
  int n = split_lines(text, &lines);
  for (int i = 0; i < n; i++) {
    char *l = lines[i], a[80], b[80], c[80], d[80], e[80], f[80];
    int off = 0;
    if (l[0] == 0 || l[0] == '#') continue;
    if (strncmp(l, "iface ", 6) == 0) {
      Iface *x = &ifaces[n_ifaces++];
      memset(x, 0, sizeof *x);
      if (sscanf(l, "iface %d %d %31s %79s %79s %n", &x->index, &x->metric, x->mac, a, b, &off) < 5 || off == 0) bad_state(l);
      snprintf(x->name, sizeof x->name, "%s", l + off);
      char *slash = strchr(a, '/');
      if (strcmp(a, "-") != 0) {
        if (!slash) bad_state(l);
        *slash = 0;
        x->has4 = parse4(a, &x->v4);
        x->len4 = atoi(slash + 1);
        if (!x->has4) bad_state(l);
      }
      if (strcmp(b, "-") != 0 && !(x->has6 = parse6_prefix(b, x->v6, &x->len6))) bad_state(l);
    } else if (strncmp(l, "route4 ", 7) == 0) {
      Route *r = &routes[n_routes++];
      memset(r, 0, sizeof *r);
      r->family = 4;
      if (sscanf(l, "route4 %79s %79s %79s %79s %d", a, b, c, d, &r->metric) != 5) bad_state(l);
      r->onlink = _stricmp(c, "On-link") == 0;
      if (!parse4(a, &r->dest4) || !parse4(b, &r->mask4) || (!r->onlink && !parse4(c, &r->gw4)) || !parse4(d, &r->if4)) bad_state(l);
    } else if (strncmp(l, "route6 ", 7) == 0) {
      Route *r = &routes[n_routes++];
      memset(r, 0, sizeof *r);
      r->family = 6;
      if (sscanf(l, "route6 %d %d %79s %79s", &r->ifindex, &r->metric, e, f) != 4) bad_state(l);
      r->onlink = _stricmp(f, "On-link") == 0;
      if (!parse6_prefix(e, r->dest6, &r->len6) || (!r->onlink && !parse6(f, r->gw6))) bad_state(l);
    } else {
      bad_state(l);
    }
    if (n_ifaces >= 64 || n_routes >= MAX_ROWS) bad_state("too many rows");
  }
}

static void save(const char *path) {
  Buf b = {0};
  char s1[64], s2[64], s3[64], s4[64];
  buf_printf(&b, "# fake route.exe state\n");
  for (int i = 0; i < n_ifaces; i++) {
    Iface *x = &ifaces[i];
    char v4[40] = "-", v6[80] = "-";
    if (x->has4) snprintf(v4, sizeof v4, "%s/%d", fmt4(x->v4, s1), x->len4);
    if (x->has6) snprintf(v6, sizeof v6, "%s/%d", fmt6(x->v6, s2), x->len6);
    buf_printf(&b, "iface %d %d %s %s %s %s\n", x->index, x->metric, x->mac, v4, v6, x->name);
  }
  for (int i = 0; i < n_routes; i++) {
    Route *r = &routes[i];
    if (r->family == 4)
      buf_printf(&b, "route4 %s %s %s %s %d\n", fmt4(r->dest4, s1), fmt4(r->mask4, s2), r->onlink ? "On-link" : fmt4(r->gw4, s3), fmt4(r->if4, s4), r->metric);
    else
      buf_printf(&b, "route6 %d %d %s/%d %s\n", r->ifindex, r->metric, fmt6(r->dest6, s1), r->len6, r->onlink ? "On-link" : fmt6(r->gw6, s2));
  }
  write_file_utf8(path, b.data);
}

static const char *SEP = "===========================================================================\r\n";

static void print_interfaces(Buf *b) {
  buf_printf(b, "%s%s\r\n", SEP, french ? "Liste d'Interfaces" : "Interface List");
  for (int i = 0; i < n_ifaces; i++) {
    Iface *x = &ifaces[i];
    if (strcmp(x->mac, "-") == 0) {
      buf_printf(b, "%3d...........................%s\r\n", x->index, x->name);
    } else {
      char mac[32];
      snprintf(mac, sizeof mac, "%s", x->mac);
      for (char *p = mac; *p; p++) if (*p == '-') *p = ' ';
      buf_printf(b, "%3d...%s ......%s\r\n", x->index, mac, x->name);
    }
  }
  buf_printf(b, "%s\r\n", SEP);
}

static void print_persistent(Buf *b) {
  buf_printf(b, "%s\r\n  %s\r\n", french ? "Itinéraires persistants :" : "Persistent Routes:", french ? "Aucun" : "None");
}

static void print4(Buf *b) {
  char s1[16], s2[16], s3[16], s4[16];
  int any = 0;
  buf_printf(b, "%s\r\n%s%s\r\n", french ? "IPv4 Table de routage" : "IPv4 Route Table", SEP, french ? "Itinéraires actifs :" : "Active Routes:");
  for (int i = 0; i < n_routes; i++) {
    Route *r = &routes[i];
    if (r->family != 4) continue;
    if (!any++) buf_printf(b, "%s\r\n", french ? "Destination réseau    Masque réseau  Adr. passerelle   Adr. interface Métrique" : "Network Destination        Netmask          Gateway       Interface  Metric");
    if (r->onlink)
      buf_printf(b, "%17s%17s%16s%18s%7d\r\n", fmt4(r->dest4, s1), fmt4(r->mask4, s2), "On-link", fmt4(r->if4, s4), r->metric);
    else
      buf_printf(b, "%17s%17s%17s%17s%7d\r\n", fmt4(r->dest4, s1), fmt4(r->mask4, s2), fmt4(r->gw4, s3), fmt4(r->if4, s4), r->metric);
  }
  if (any) buf_printf(b, "%s", SEP);
  else buf_printf(b, "  %s\r\n", french ? "Aucun" : "None");
  print_persistent(b);
}

static void print6(Buf *b) {
  char s1[64], s2[64], dest[80];
  int any = 0;
  buf_printf(b, "%s\r\n%s%s\r\n", french ? "IPv6 Table de routage" : "IPv6 Route Table", SEP, french ? "Itinéraires actifs :" : "Active Routes:");
  for (int i = 0; i < n_routes; i++) {
    Route *r = &routes[i];
    if (r->family != 6) continue;
    if (!any++) buf_printf(b, " If Metric Network Destination      Gateway\r\n");
    snprintf(dest, sizeof dest, "%s/%d", fmt6(r->dest6, s1), r->len6);
    const char *gw = r->onlink ? "On-link" : fmt6(r->gw6, s2);
    // A destination wider than its column pushes the gateway onto the next line, under the Gateway column.
    if (strlen(dest) > 24) buf_printf(b, "%3d%7d %s\r\n%36s%s\r\n", r->ifindex, r->metric, dest, "", gw);
    else buf_printf(b, "%3d%7d %-24s %s\r\n", r->ifindex, r->metric, dest, gw);
  }
  if (any) buf_printf(b, "%s", SEP);
  else buf_printf(b, "  %s\r\n", french ? "Aucun" : "None");
  print_persistent(b);
}

static void say(const char *en, const char *fr) {
  out_text(french ? fr : en);
  out_text("\r\n");
}

#define ADD_FAILED(en, fr) say("The route addition failed: " en, "L'ajout de l'itinéraire a échoué : " fr)
#define DEL_FAILED(en, fr) say("The route deletion failed: " en, "La suppression de l'itinéraire a échoué : " fr)

static Iface *iface_by_index(int index) {
  for (int i = 0; i < n_ifaces; i++) if (ifaces[i].index == index) return &ifaces[i];
  return NULL;
}

static void unsupported(const char *what) {
  errf("fake route.exe: not supported by this fake: %s\r\n", what);
  ExitProcess(1);
}

/* ADD/DELETE's operands: destination [MASK m] [gateway] [METRIC n] [IF n], keywords in any case. */
typedef struct {
  const char *dest, *mask, *gw;
  int metric, ifindex;
} Operands;

static int operands(int argc, char **argv, int i, Operands *o) {
  memset(o, 0, sizeof *o);
  o->metric = -1;
  o->ifindex = -1;
  for (; i < argc; i++) {
    if (_stricmp(argv[i], "MASK") == 0 && i + 1 < argc) o->mask = argv[++i];
    else if (_stricmp(argv[i], "METRIC") == 0 && i + 1 < argc) o->metric = atoi(argv[++i]);
    else if (_stricmp(argv[i], "IF") == 0 && i + 1 < argc) o->ifindex = atoi(argv[++i]);
    else if (!o->dest) o->dest = argv[i];
    else if (!o->gw) o->gw = argv[i];
    else return 0;
  }
  return o->dest != NULL;
}

static void insert_sorted(Route *r) {
  int at = n_routes;
  for (int i = 0; i < n_routes; i++) {
    Route *x = &routes[i];
    if (x->family != r->family) continue;
    int later = r->family == 4 ? x->dest4 > r->dest4 : memcmp(x->dest6, r->dest6, 16) > 0;
    if (later) { at = i; break; }
  }
  memmove(&routes[at + 1], &routes[at], sizeof(Route) * (n_routes - at));
  routes[at] = *r;
  n_routes++;
}

static int add_route(int v6, Operands *o) {
  Route r;
  memset(&r, 0, sizeof r);
  Iface *via = o->ifindex >= 0 ? iface_by_index(o->ifindex) : NULL;
  if (o->ifindex >= 0 && !via) return ADD_FAILED("Element not found.", "Élément introuvable."), 0;
  if (!o->gw) return ADD_FAILED("The parameter is incorrect.", "Paramètre incorrect."), 0;
  if (!v6) {
    r.family = 4;
    r.mask4 = 0xffffffffu;
    if (!parse4(o->dest, &r.dest4) || (o->mask && !parse4(o->mask, &r.mask4)) || !parse4(o->gw, &r.gw4)) return ADD_FAILED("The parameter is incorrect.", "Paramètre incorrect."), 0;
    if ((r.dest4 & r.mask4) != r.dest4)
      return ADD_FAILED("The specified mask parameter is invalid. (Destination & Mask) != Destination.", "Le paramètre de masque spécifié n'est pas valide. (Destination & Masque) != Destination."), 0;
    for (int i = 0; !via && i < n_ifaces; i++)
      if (ifaces[i].has4 && (ifaces[i].v4 & prefix_mask(ifaces[i].len4)) == (r.gw4 & prefix_mask(ifaces[i].len4))) via = &ifaces[i];
    if (!via || !via->has4)
      return ADD_FAILED("Either the interface index is wrong or the gateway does not lie on the same network as the interface. Check the IP Address Table for the machine.",
                        "L'index d'interface est incorrect ou la passerelle ne se trouve pas sur le même réseau que l'interface. Vérifiez la table d'adresses IP de l'ordinateur."), 0;
    r.if4 = via->v4;
    r.onlink = r.gw4 == via->v4;
  } else {
    r.family = 6;
    if (!parse6_prefix(o->dest, r.dest6, &r.len6) || !parse6(o->gw, r.gw6)) return ADD_FAILED("The parameter is incorrect.", "Paramètre incorrect."), 0;
    for (int i = 0; !via && i < n_ifaces; i++)
      if (ifaces[i].has6 && in_prefix6(r.gw6, ifaces[i].v6, ifaces[i].len6)) via = &ifaces[i];
    if (!via) return ADD_FAILED("The parameter is incorrect.", "Paramètre incorrect."), 0;
    r.onlink = memcmp(r.gw6, via->v6, 16) == 0;
  }
  r.ifindex = via->index;
  r.metric = via->metric + (o->metric >= 0 ? o->metric : 1);
  for (int i = 0; i < n_routes; i++) {
    Route *x = &routes[i];
    int same = x->family == r.family && x->onlink == r.onlink &&
               (r.family == 4 ? x->dest4 == r.dest4 && x->mask4 == r.mask4 && x->if4 == r.if4 && (r.onlink || x->gw4 == r.gw4)
                              : x->len6 == r.len6 && x->ifindex == r.ifindex && !memcmp(x->dest6, r.dest6, 16) && (r.onlink || !memcmp(x->gw6, r.gw6, 16)));
    if (same) return ADD_FAILED("The object already exists.", "L'objet existe déjà."), 0;
  }
  if (n_routes >= MAX_ROWS) unsupported("more than 512 routes");
  insert_sorted(&r);
  return 1;
}

static int delete_routes(int v6, Operands *o) {
  unsigned dest4 = 0, mask4 = 0, gw4 = 0;
  unsigned char dest6[16], gw6[16];
  int len6 = 128, removed = 0;
  if (!v6 ? !parse4(o->dest, &dest4) || (o->mask && !parse4(o->mask, &mask4)) || (o->gw && !parse4(o->gw, &gw4))
          : !parse6_prefix(o->dest, dest6, &len6) || (o->gw && !parse6(o->gw, gw6)))
    return DEL_FAILED("The parameter is incorrect.", "Paramètre incorrect."), 0;
  for (int i = 0; i < n_routes;) {
    Route *x = &routes[i];
    int match = !v6 ? x->family == 4 && x->dest4 == dest4 && (!o->mask || x->mask4 == mask4) && (!o->gw || (!x->onlink && x->gw4 == gw4))
                    : x->family == 6 && x->len6 == len6 && !memcmp(x->dest6, dest6, 16) && (!o->gw || (!x->onlink && !memcmp(x->gw6, gw6, 16)));
    if (match && (o->ifindex < 0 || x->ifindex == o->ifindex || (x->family == 4 && iface_by_index(o->ifindex) && iface_by_index(o->ifindex)->v4 == x->if4))) {
      memmove(&routes[i], &routes[i + 1], sizeof(Route) * (n_routes - i - 1));
      n_routes--;
      removed++;
    } else {
      i++;
    }
  }
  if (!removed) DEL_FAILED("Element not found.", "Élément introuvable.");
  return removed > 0;
}

int main(void) {
  int argc;
  char **argv = utf8_argv(&argc);
  char *lang = env_utf8("MKT_FAKE_ROUTE_LANG");
  french = lang && _stricmp(lang, "fr") == 0;
  int family = 0, i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "-4") == 0) family = 4;
    else if (strcmp(argv[i], "-6") == 0) family = 6;
    else unsupported(argv[i]);
  }
  if (i >= argc) unsupported("route without a command (the real one prints its help)");
  const char *command = argv[i++];
  // PRINT takes its -4/-6 after the command too (`route print -4`).
  if (_stricmp(command, "PRINT") == 0 && i < argc && (strcmp(argv[i], "-4") == 0 || strcmp(argv[i], "-6") == 0)) family = argv[i++][1] - '0';
  char *path = state_path("MKT_FAKE_ROUTE_STATE", "route-state.txt");
  HANDLE lock = lock_state(path);
  load(path);
  if (_stricmp(command, "PRINT") == 0) {
    if (i < argc) unsupported("a filter after PRINT");
    Buf b = {0};
    print_interfaces(&b);
    if (family != 6) print4(&b);
    if (family == 0) buf_printf(&b, "\r\n");
    if (family != 4) print6(&b);
    out_text(b.data);
  } else if (_stricmp(command, "ADD") == 0 || _stricmp(command, "DELETE") == 0) {
    Operands o;
    if (!operands(argc, argv, i, &o)) unsupported("these ADD/DELETE operands");
    if (o.dest && (strchr(o.dest, '*') || strchr(o.dest, '?'))) unsupported("wildcards");
    int v6 = family == 6 || strchr(o.dest, ':') != NULL;
    int ok = _stricmp(command, "ADD") == 0 ? add_route(v6, &o) : delete_routes(v6, &o);
    if (ok) {
      save(path);
      out_text(" OK!\r\n");
    }
  } else {
    unsupported(command);
  }
  CloseHandle(lock);
  return 0;
}

/*
 * IPv4 and IPv6 addresses as route.exe reads and prints them: dotted quads,
 * and RFC 5952 text through ws2_32's inet_pton/inet_ntop (the compressed,
 * lower-case form Windows prints).
 */
#ifndef MKT_IP_TEXT_H
#define MKT_IP_TEXT_H

#include <winsock2.h>
#include <ws2tcpip.h>

static inline int parse4(const char *s, unsigned *out) {
  struct in_addr a;
  if (inet_pton(AF_INET, s, &a) != 1) return 0;
  *out = ntohl(a.s_addr);
  return 1;
}

static inline int parse6(const char *s, unsigned char *out) {
  return inet_pton(AF_INET6, s, out) == 1;
}

static inline int parse6_prefix(const char *s, unsigned char *addr, int *len) {
  char tmp[80];
  snprintf(tmp, sizeof tmp, "%s", s);
  char *slash = strchr(tmp, '/');
  *len = 128;
  if (slash) {
    *slash = 0;
    char *end;
    long n = strtol(slash + 1, &end, 10);
    if (*end || n < 0 || n > 128) return 0;
    *len = (int)n;
  }
  return parse6(tmp, addr);
}

static inline const char *fmt4(unsigned v, char *buf) {
  snprintf(buf, 16, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
  return buf;
}

static inline const char *fmt6(const unsigned char *v, char *buf) {
  return inet_ntop(AF_INET6, v, buf, 64);
}

static inline unsigned prefix_mask(int len) { return len <= 0 ? 0 : len >= 32 ? 0xffffffffu : ~((1u << (32 - len)) - 1); }

static inline int in_prefix6(const unsigned char *a, const unsigned char *net, int len) {
  for (int bit = 0; bit < len; bit++) {
    int mask = 0x80 >> (bit % 8);
    if ((a[bit / 8] & mask) != (net[bit / 8] & mask)) return 0;
  }
  return 1;
}

#endif

/** The node of the Wine lab's tests: on the Hyper-V switch's network below, as a Hyper-V minikube's node is. */
export const HYPERV_NODE = "172.31.16.5";

/** A Hyper-V switch as the fake route.exe keeps it (its route-state.txt): the node is on its network. */
export const HYPERV_ROUTE_STATE = [
  "iface 23 15 00-15-5d-01-6e-02 172.31.16.1/20 fd00:49::1/64 Hyper-V Virtual Ethernet Adapter",
  "route4 172.31.16.0 255.255.240.0 On-link 172.31.16.1 271",
  "",
].join("\n");

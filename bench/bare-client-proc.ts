// The baseline: a bare client that only turns a watch event into a status PATCH, with no queue, ownership or events.
import { KubeConfig } from "@kubernetes/client-node";
import { KubeHttp } from "../src/engine/kube/kube-http.js";

const [kubeconfig = ""] = process.argv.slice(2);
const config = new KubeConfig();
config.loadFromFile(kubeconfig);
const client = await KubeHttp.fromKubeConfig(config);
const { body } = await client.call<{ metadata: { resourceVersion: string } }>("GET", "/api/v1/services");
void client
  .watch(
    `/api/v1/services?watch=1&resourceVersion=${body.metadata.resourceVersion}`,
    (event) => {
      const svc = event.object as any;
      if (event.type === "DELETED" || svc.spec?.type !== "LoadBalancer" || svc.status?.loadBalancer?.ingress?.length)
        return;
      void client
        .call(
          "PATCH",
          `/api/v1/namespaces/${svc.metadata.namespace}/services/${svc.metadata.name}/status`,
          { status: { loadBalancer: { ingress: [{ ip: svc.spec.clusterIP, ipMode: "VIP" }] } } },
          "application/merge-patch+json",
        )
        .catch(() => undefined);
    },
    new AbortController().signal,
  )
  .catch(() => process.exit(0)); // the simulator went away: the run is over
process.stdout.write("ready\n");
process.on("SIGTERM", () => process.exit(0));

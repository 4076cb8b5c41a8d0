"""A local node for the local control plane: containerd, runc, CNI, the kubelet, kube-scheduler,
and, so that Pods work as on a cluster, kube-proxy, CoreDNS and a loopback registry.

Pods run to their end on this machine, without Docker and without any outside registry: the
images the documentation uses are locally assembled stand-ins (see ``images``) served by the
node's own registry (see ``registry``), and nothing a Pod does leaves the machine (see
``firewall``). Needs Linux, root and cgroup v1 (see ``preflight``); everything it creates on the
host is named after its run and undone by ``teardown``, also for a run that was killed.
"""

from controlplane.node.images import STAND_IN_NOTE
from controlplane.node.node import LocalNode
from controlplane.node.preflight import node_unavailable_reason, node_wanted

__all__ = ["STAND_IN_NOTE", "LocalNode", "node_unavailable_reason", "node_wanted"]

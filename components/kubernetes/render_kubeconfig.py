"""The cluster's kubeconfig: a pure function, no Pulumi.

It carries no credential: ``kubectl`` (and the ``pulumi_kubernetes`` provider) run
``aws eks get-token --cluster-name <name> --region <region>`` for a short-lived token signed with
whoever's AWS credentials are in the environment, the way ``aws eks update-kubeconfig`` writes it
(EKS User Guide, "Connect kubectl to an EKS cluster by creating a kubeconfig file"; the exec
plugin API ``client.authentication.k8s.io/v1beta1``, Kubernetes docs "client-go credential
plugins"). It is still exported as a secret: it names the endpoint and the account's cluster.
"""

from __future__ import annotations

import json


def render_kubeconfig(*, cluster_name: str, endpoint: str, certificate_authority: str, region: str) -> str:
    """A kubeconfig (JSON, which is YAML) for one EKS cluster with ``aws eks get-token`` exec auth.

    ``certificate_authority`` is the base64 PEM EKS returns (``certificateAuthority.data``).
    """
    if not endpoint.startswith("https://"):
        raise ValueError(f"an EKS endpoint is an https URL; got {endpoint!r}")
    context = f"aws-{cluster_name}"
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": context, "cluster": {"server": endpoint, "certificate-authority-data": certificate_authority}}
            ],
            "users": [
                {
                    "name": context,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                cluster_name,
                                "--region",
                                region,
                                "--output",
                                "json",
                            ],
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "current-context": context,
        },
        indent=2,
    )

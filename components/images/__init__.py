"""Container image references: where a Kubernetes object names images, and pinning them by digest."""

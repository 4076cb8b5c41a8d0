# One image for both components: `jobsink webhook` and `jobsink receiver` (see config/500-*.yaml).
#
#   docker build -t jobsink:0.1.0 .
#
# The base is pinned to an exact Python patch release on Debian bookworm; bump it deliberately.
# `make image` builds this same file without Docker or a registry, on a base assembled from
# Debian's bookworm packages (--build-arg BASE_IMAGE=...). No `# syntax=` line: it would make
# BuildKit pull a frontend image, and the built-in frontend understands everything used here.
ARG BASE_IMAGE=python:3.11.14-slim-bookworm

# --- build: install the project and its pinned runtime dependencies into a venv -------------------
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/jobsink
# Dependencies are pinned exactly in pyproject.toml; copying it and the sources separately keeps
# the layer order obvious even though both are needed for one install.
COPY pyproject.toml README.md ./
COPY jobsink/ jobsink/
COPY certs/ certs/
COPY kubeapi/ kubeapi/
COPY webhook/ webhook/
COPY receiver/ receiver/
COPY controlplane/ controlplane/
COPY cli/ cli/
COPY serving/ serving/
# Where pip looks for packages when the build cannot reach an index (`make image` serves a
# wheelhouse on loopback). Declared without a value: unless passed, they are not set at all
# and pip uses its default index. Declared here, so that only this step depends on them.
ARG PIP_FIND_LINKS
ARG PIP_NO_INDEX
RUN /opt/jobsink/bin/pip install --no-compile /src \
    && /opt/jobsink/bin/python -m compileall -q /opt/jobsink/lib

# --- runtime: the venv only, as a non-root user, no build tools ----------------------------------
FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="jobsink" \
      org.opencontainers.image.description="JobSink for Python: CloudEvents to Kubernetes Jobs" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/jobsink/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/jobsink /opt/jobsink
# 65532 is the conventional "nonroot" uid; the Deployments set the same runAsUser, and the root
# filesystem is read-only there (only /tmp is writable, an emptyDir).
USER 65532:65532
# 8080: receiver HTTP; 8443: webhook HTTPS (and receiver HTTPS with a certificate). /metrics is
# served on those same ports.
EXPOSE 8080 8443
ENTRYPOINT ["jobsink"]
CMD ["--help"]

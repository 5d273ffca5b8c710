# attacktrace in a container: a build stage with the Rust toolchain and the OpenSSL headers, then a
# small runtime image with the binary, its C runtime libraries and CA certificates (for
# `attack update`). Rules are mounted at /work:
#
#   docker build -t attacktrace .
#   docker run --rm -v "$PWD:/work" attacktrace check rules --format sarif -o attacktrace.sarif
FROM rust:1.88-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends pkg-config libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock README.md ./
COPY src src
COPY mappings mappings
COPY rules rules
# Only the binary: tests, benches and examples are not part of an install.
RUN cargo install --locked --path . --root /out

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/bin/attacktrace /usr/local/bin/attacktrace
# An unprivileged user; its cache directory is where `attack update` stores bundles.
RUN useradd --create-home --uid 10001 attacktrace
USER attacktrace
WORKDIR /work
ENTRYPOINT ["attacktrace"]
CMD ["--help"]

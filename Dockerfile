# redline: multi-stage build, slim non-root runtime.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY config config
COPY benches benches
RUN cargo build --release --locked --bin redline

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/redline --create-home redline
COPY --from=build /src/target/release/redline /usr/local/bin/redline
COPY config/redline.toml /etc/redline/redline.toml
USER redline
VOLUME ["/var/lib/redline"]
ENV REDLINE_CONFIG=/etc/redline/redline.toml REDLINE_DATA_DIR=/var/lib/redline
ENTRYPOINT ["redline"]
CMD ["run"]

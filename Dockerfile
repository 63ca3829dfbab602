# One image for every gust process: scheduler, worker, flower, db migrate.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=${VERSION}" -o /out/gust ./cmd/gust

FROM debian:bookworm-slim
# bash runs the bash operator's commands; ca-certificates for amqps/rediss/TLS
# Postgres; curl for the monitor's health check.
RUN apt-get update && apt-get install -y --no-install-recommends bash ca-certificates tzdata procps curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 50000 gust \
    && mkdir -p /opt/gust/dags /opt/gust/logs && chown -R gust /opt/gust
COPY --from=build /out/gust /usr/local/bin/gust
USER gust
ENV GUST_HOME=/home/gust/gust
WORKDIR /home/gust
ENTRYPOINT ["gust"]
CMD ["--help"]

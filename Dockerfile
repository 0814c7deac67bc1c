# lorabot in a container: a static binary on a distroless base, run as a
# user without privileges, with its database on a volume at /data.
#
#   docker build -t lorabot --build-arg VERSION=v1.0.0 --build-arg COMMIT=$(git rev-parse --short HEAD) .
#   docker run --env-file .env -v lorabot-data:/data -p 127.0.0.1:9090:9090 lorabot
#
# compose.yaml runs it beside an A1111 container.

FROM golang:1.26.8 AS build
WORKDIR /src
# Modules first, so that a change of code does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# .git is not in the build context (.dockerignore): the version and commit
# come from these arguments instead (lorabot version prints them).
ARG VERSION=""
ARG COMMIT=""
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.linkedVersion=${VERSION} -X main.linkedCommit=${COMMIT}" \
      -o /out/lorabot . \
 && mkdir -p /out/data

# distroless/static has CA certificates (for discord.com), tzdata and a
# nonroot user (65532), and no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/lorabot /usr/local/bin/lorabot
# The volume's mount point, owned by the bot's user, so that a new named
# volume starts writable for it.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
ENV DB_PATH=/data/bot.db \
    METRICS_ADDR=:9090 \
    LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 9090
# SIGTERM (docker stop) starts the bot's shutdown, which stays within 10 s:
# docker's default grace period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/lorabot"]

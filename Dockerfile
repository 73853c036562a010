# Herald's image: one static binary, run as a non-root user.
#   docker build -t herald .
#   docker run --rm herald --help
# The subcommand is the container's command: serve, worker, migrate, tenant create NAME, ...

# --- build -------------------------------------------------------------------
FROM golang:1.26 AS build
WORKDIR /src
# Dependencies first, so code changes do not refetch modules.
# The client module is replaced by its directory, so go.mod needs its go.mod.
COPY go.mod go.sum ./
COPY client/go.mod client/
RUN go mod download
COPY . .
# timetzdata embeds the IANA zone database: quiet hours and digest windows
# depend on it whatever the runtime image ships.
RUN CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
    go build -trimpath -tags timetzdata -ldflags="-s -w" -o /out/herald ./cmd/herald

# --- runtime -----------------------------------------------------------------
# Alpine rather than distroless so the compose healthcheck has wget.
FROM alpine:3.22
RUN apk add --no-cache ca-certificates tzdata \
    && addgroup -S -g 10001 herald \
    && adduser -S -D -H -u 10001 -G herald -h /nonexistent -s /sbin/nologin herald
COPY --from=build /out/herald /usr/local/bin/herald
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["herald"]
CMD ["serve"]

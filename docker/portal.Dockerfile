# syntax=docker/dockerfile:1.7
# The portal image: nginx (unprivileged, uid 101, port 8080) serving portal/dist with the SPA
# fallback and the portal's security headers, and proxying /api, /analytics and /v1 to the Ray
# Serve service named by IAS_UPSTREAM (host:port; the chart sets it).
#
#   docker build -f docker/portal.Dockerfile -t ias-portal .

FROM node:20.19.5-bookworm-slim AS build
WORKDIR /src/portal
COPY portal/package.json portal/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY portal/ ./
RUN npm run build

FROM nginxinc/nginx-unprivileged:1.29.3-alpine3.22
LABEL org.opencontainers.image.title="ias-portal" \
      org.opencontainers.image.description="IAS web portal (nginx)" \
      org.opencontainers.image.source="https://github.com/example/ias" \
      org.opencontainers.image.licenses="Proprietary"
# the image's entrypoint renders /etc/nginx/templates/*.template into /etc/nginx/conf.d with
# envsubst (only the variables named in NGINX_ENVSUBST_FILTER)
ENV IAS_UPSTREAM=ias-serve-svc:8000 \
    NGINX_ENVSUBST_FILTER=^IAS_
COPY docker/nginx/default.conf.template /etc/nginx/templates/default.conf.template
COPY --from=build /src/portal/dist /usr/share/nginx/html
USER 101
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD wget -q -O /dev/null http://127.0.0.1:8080/healthz || exit 1

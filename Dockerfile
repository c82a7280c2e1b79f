# One image for every Omni MCP service; compose.yaml picks the entry point per service.
# Only the workspace manifests, found rather than listed (every servers/<name>/package.json included), so
# the install layer below is cached until a manifest or the lockfile changes and a new server folder needs
# no edit here.
FROM oven/bun:1.4.5-debian AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests && find . -name package.json -not -path "*/node_modules/*" -exec cp --parents {} /manifests/ \; \
  && cp bun.lock bunfig.toml tsconfig.json /manifests/

FROM oven/bun:1.4.5-debian AS base
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN bun install --frozen-lockfile
COPY . .
# Production: OMNI_SECRET_KEY and OMNI_INTERNAL_TOKEN must come from the environment (see .env.example).
ENV NODE_ENV=production

# The DevTools server needs a browser: Debian's Chromium.
FROM base AS devtools
RUN apt-get update && apt-get install -y --no-install-recommends chromium && rm -rf /var/lib/apt/lists/*
ENV CHROME_PATH=/usr/bin/chromium
CMD ["bun", "servers/devtools/src/index.ts"]

FROM base AS app
CMD ["bun", "gateway/src/index.ts"]

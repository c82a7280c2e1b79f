# One image for every Omni MCP service; compose.yaml picks the entry point per service.
FROM oven/bun:1.4.5-debian AS base
WORKDIR /app
COPY package.json bun.lock bunfig.toml tsconfig.json ./
COPY contracts/package.json contracts/
COPY db/package.json db/
COPY gateway/package.json gateway/
COPY cli/package.json cli/
COPY servers/kit/package.json servers/kit/
COPY servers/linear/package.json servers/linear/
COPY servers/perplexity/package.json servers/perplexity/
COPY servers/devtools/package.json servers/devtools/
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

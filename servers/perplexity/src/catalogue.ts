import type { CatalogueResource, PromptTemplate } from "@omni/contracts";

/**
 * The perplexity server's catalogue entry: the description, default prompts and static documents the gateway
 * upserts into the database when it discovers an instance (see `ServerCapabilities`).
 */
export const description =
  "Web search, cited answers and deep research through Perplexity: ranked results, answers with numbered citations, long-running research reports.";

/** Default prompts, named `<server>_<verb>_<object>` (checked by servers/catalogue.test.ts). */
export const prompts: PromptTemplate[] = [
  {
    name: "perplexity_research_topic",
    title: "Research a topic with sources",
    description:
      "A structured research run: scope the question, search broadly, go deep on the best sources and write a cited brief.",
    arguments: [
      { name: "topic", description: "What to research", required: true },
      {
        name: "depth",
        description: "quick: a few searches; standard: search + ask; deep: a full research report",
        enum: ["quick", "standard", "deep"],
        default: "standard",
      },
      {
        name: "recency",
        description: "Only sources from this period",
        enum: ["day", "week", "month", "year", "any"],
        default: "any",
      },
      { name: "audience", description: "Who will read the brief", default: "an engineering team" },
    ],
    messages: [
      {
        role: "user",
        text: `Research "{{topic}}" for {{audience}}. Depth: {{depth}}. Source recency: {{recency}}.

Step 1: Scope. Restate the question in one sentence and break it into three to five sub-questions that, answered together, answer it. Note what would change the conclusion.

Step 2: Search broadly. Run perplexity_search for each sub-question (recency filter "{{recency}}" unless it is "any"). Keep the ranked results with titles, URLs and dates. Prefer primary sources: official documentation, papers, standards, vendor announcements, filings. Treat forums and marketing pages as leads, not evidence.

Step 3: Go deep.
- quick: stop after the searches and summarize what the top results agree on.
- standard: use perplexity_ask on each sub-question for an answer with numbered citations; check that every claim you keep is backed by a citation you could open.
- deep: run perplexity_research on the whole question (it can take minutes and reports progress), then verify its key claims with perplexity_search.

Step 4: Write the brief.
- A three-sentence answer first.
- Then the findings per sub-question, each claim followed by its citation number [n].
- Where sources disagree, show both sides and which is better supported, and why.
- What is unknown or could not be verified.
- The numbered source list: title, URL, date.

Never invent a source or a URL. If the evidence is thin, say so plainly.`,
      },
    ],
  },
  {
    name: "perplexity_compare_options",
    title: "Compare options against criteria",
    description:
      "Evaluate two or more options (tools, vendors, approaches) against explicit criteria with cited evidence and a recommendation.",
    arguments: [
      { name: "options", description: "The options, comma-separated", required: true },
      {
        name: "criteria",
        description: "What matters, comma-separated, most important first",
        required: true,
      },
      { name: "context", description: "The situation the decision is for" },
      {
        name: "format",
        description: "Output format",
        enum: ["table", "memo"],
        default: "table",
      },
    ],
    messages: [
      {
        role: "user",
        text: `Compare these options: {{options}}
Criteria, most important first: {{criteria}}
Context: {{context}}

Use perplexity_compare when it fits (two or more options against the criteria, structured output); otherwise, for each option and criterion, use perplexity_search to find current facts (pricing, limits, licences, maturity, adoption, known issues) and perplexity_ask for anything that needs synthesis. Use perplexity_summarize on long documents such as pricing pages or changelogs rather than quoting them.

Rules:
- Every factual cell cites a source [n]. A cell you could not verify says "unverified" instead of guessing.
- Note the date of volatile facts (prices, quotas, versions).
- Weigh the criteria in the order given; a failure on the first criterion outweighs wins on later ones.

Output as a {{format}}:
- table: one row per option, one column per criterion, then a "verdict" column; below it, the recommendation in three sentences and the sources.
- memo: a one-page decision memo: recommendation, why, the runner-up and when it would win, risks, sources.`,
      },
      {
        role: "assistant",
        text: "Understood. I'll gather current, cited facts for each of {{options}} on every criterion before scoring anything, and mark anything I cannot verify.",
      },
    ],
  },
];

/** Static guides, served as default resources (organizations may override them). */
export const defaultResources: CatalogueResource[] = [
  {
    uri: "perplexity://guides/search-results",
    name: "search-results-guide",
    title: "Reading Perplexity search results",
    description: "What perplexity_search returns, how results are ranked, and how to filter and cite them.",
    mimeType: "text/markdown",
    text: `# Perplexity search results

\`perplexity_search\` returns ranked web results. Each result has:

| Field | Meaning |
| --- | --- |
| \`title\` | Page title |
| \`url\` | Canonical URL: cite this |
| \`snippet\` | The passage that matched, not the whole page |
| \`date\` | Publication or last-update date when known |
| \`rank\` | 1 is the best match |

## Filters
- \`recency\`: \`hour\`, \`day\`, \`week\`, \`month\`, \`year\`: only results from that period.
- \`domains\`: restrict to (or, prefixed with \`-\`, exclude) domains, e.g. \`["docs.python.org"]\`.
- \`after\` / \`before\`: only results published after or before a date (YYYY-MM-DD).
- \`country\`: a two-letter country code to localise results.
- \`maxResults\`: how many results (1 to 20, default 10).

## Choosing the tool
- **perplexity_search**: facts and sources, you do the synthesis. Fast, cheapest.
- **perplexity_ask**: an answer written by Sonar with numbered citations; each [n] maps to a URL.
- **perplexity_research**: a long report on a broad question; takes minutes, reports progress, can be cancelled.
A finished report can be read again from the resource \`perplexity://research/{requestId}\`.
- **perplexity_reason**: step-by-step reasoning over a question with sources.
- **perplexity_compare** / **perplexity_summarize**: structured comparisons; summaries of a URL or text.

## Citing
Quote the snippet only when the wording matters, link the URL, and give the date for anything that
changes (prices, versions, statistics). A snippet is a lead: open the source before relying on a number.
`,
  },
  {
    uri: "perplexity://knowledge-base/guide",
    name: "knowledge-base-guide",
    title: "Research knowledge base guide",
    description:
      "Conventions for turning research into durable notes: source quality, note structure and review dates.",
    mimeType: "text/markdown",
    text: `# Research knowledge base

Research is only useful if the next person can trust and find it. Store findings as notes with this
shape:

\`\`\`markdown
# <question, phrased as a question>
Answer: <one or two sentences>
Confidence: high | medium | low, and why
Researched: <YYYY-MM-DD>   Review by: <date when it may be stale>

## Evidence
- <claim> [1]
- <claim> [2]

## Open questions
- ...

## Sources
1. <title>, <url>, <date>
\`\`\`

## Source quality, best first
1. Primary: official docs, specifications, papers, filings, changelogs.
2. Reputable secondary: established press, recognised analysts, maintainers' blogs.
3. Community: forums, Q&A sites, social posts: leads to verify, never sole evidence.

## Review dates
- Prices, quotas, versions, benchmarks: 3 months.
- Product capabilities and vendor comparisons: 6 months.
- Standards, algorithms, history: 2 years.

When a note is reviewed, re-run the original searches with the same filters and record what changed.
`,
  },
];

import type { CatalogueEntry } from "./types.ts";

export const devtools: CatalogueEntry = {
  server: {
    name: "devtools",
    title: "Chrome DevTools",
    description:
      "Browser automation and debugging over real Chromium: navigate, inspect, fill forms, screenshot, read console and network, trace performance and hunt memory leaks, in an isolated browser context per session.",
  },
  prompts: [
    {
      name: "automation-workflow",
      title: "Automate a browser task",
      description:
        "Plan and run a browser task step by step (navigate, interact, verify), with evidence for every step.",
      arguments: [
        { name: "url", description: "Where to start", required: true },
        {
          name: "task",
          description: "What to accomplish, e.g. 'sign up with a test account'",
          required: true,
        },
        {
          name: "viewport",
          description: "Device to emulate",
          enum: ["desktop", "tablet", "mobile"],
          default: "desktop",
        },
        {
          name: "evidence",
          description: "Take a screenshot after each step (yes) or only at the end (no)",
          enum: ["yes", "no"],
          default: "no",
        },
      ],
      messages: [
        {
          role: "user",
          text: `In the browser, starting at {{url}} on a {{viewport}} viewport, do this: {{task}}

How to work:
1. Set the viewport first (emulation tools) when it is not desktop, then chrome_navigate to {{url}} and wait until the page is ready (wait for network idle or for a selector you expect).
2. Before each interaction, take an accessibility snapshot of the page and use its element references for clicks, typing and form filling; do not guess CSS selectors. Fill several form fields at once where you can.
3. After each step, check that it worked: the URL changed, the expected text appeared, or the form shows no validation error. Screenshot after each step: {{evidence}} (always screenshot at the end with chrome_screenshot).
4. After each navigation, read chrome_console_messages and page errors; report errors even when the task succeeds.
5. If a step fails, try one alternative (another element, waiting longer, scrolling it into view), then stop and report exactly where and why it failed, with a screenshot.

Never enter real personal data or credentials unless the user provided them for this task. Do not submit payments.

Report: each step with its outcome, the final URL, the final screenshot, and console errors seen.`,
        },
      ],
    },
    {
      name: "debugging",
      title: "Debug a broken page",
      description:
        "Find out why a page misbehaves: console errors, failed requests, slow loads or layout problems, with a reproduction.",
      arguments: [
        { name: "url", description: "The page that misbehaves", required: true },
        { name: "symptom", description: "What goes wrong, as the user sees it", required: true },
        {
          name: "focus",
          description: "Where to look first",
          enum: ["errors", "network", "performance", "layout", "memory"],
          default: "errors",
        },
      ],
      messages: [
        {
          role: "user",
          text: `Debug {{url}}. Symptom: {{symptom}}. Start with: {{focus}}.

Reproduce first: chrome_navigate to {{url}}, repeat what the user did, and take a chrome_screenshot when the symptom shows. If it does not reproduce, say so and list what you tried.

Then collect evidence:
- errors: chrome_console_messages and uncaught page errors; for each error, the message, source file and line, and whether it happens on load or on interaction.
- network: the request list; look for status >= 400, CORS failures, blocked or very slow requests; open the details (headers, response body) of the failing ones.
- performance: record a performance trace around the slow action; report LCP, CLS and INP where measurable and the main causes (long tasks, render-blocking resources, large images).
- layout: computed styles of the misplaced element, the viewport size, and a screenshot of the element.
- memory: take a heap snapshot, repeat the action several times, take another, and compare them to see which constructors grew.

Then look at the other areas briefly: problems often come in pairs (a failed request causing a console error).

Conclude with: the most likely root cause and the evidence for it, a minimal reproduction (steps), the fix you suggest (code-level when you can tell), and how to verify it.`,
        },
        {
          role: "assistant",
          text: "I'll reproduce the problem on {{url}} first and capture a screenshot before drawing any conclusion.",
        },
      ],
    },
  ],
  resources: [
    {
      uri: "devtools://guides/browser-state",
      name: "browser-state-guide",
      title: "Browser state and isolation",
      description:
        "What browser state a session has, how it is isolated between sessions and organizations, and where to read it live.",
      mimeType: "text/markdown",
      text: `# Browser state

Every MCP session gets its own browser context: cookies, local and session storage, cache and tabs are
never shared with another session or another organization. Idle contexts are closed after a while;
their state is gone.

## Reading live state
- \`devtools://tabs\`: the session's open tabs (id, URL, title, which one is selected).
- \`devtools://console\`: recent console messages of the selected tab.
- Tools: list tabs, select a tab, cookies get, local/session storage get.

## Changing state
- Tabs: new tab, select tab, close tab. Tools act on the selected tab unless given a tab id.
- Storage: cookies set/clear, local and session storage set/clear: useful to log in with a test
  session token, or to reset a flow.
- Emulation: viewport, device presets, user agent, geolocation, colour scheme and CPU throttling stay set
  for the tab until changed.
- Network: blocked URL patterns, extra headers, throttling and offline mode stay active for the session.

## Limits and policy
- Organizations set allow/deny URL patterns; \`file:\`, \`chrome:\` and \`devtools:\` URLs are blocked by default.
- There is a cap on contexts and tabs per organization: close tabs you no longer need.
- If Chromium restarts, sessions get a clear error and start again with empty state.
`,
    },
    {
      uri: "devtools://guides/test-results",
      name: "test-results-guide",
      title: "Recording browser test results",
      description:
        "A format for reporting automated browser checks (steps, assertions, evidence) so results can be compared between runs.",
      mimeType: "text/markdown",
      text: `# Browser test results

Report every automated browser run in this shape so runs can be compared:

\`\`\`markdown
## <test name>: PASS | FAIL | BLOCKED
URL: <start url>   Viewport: <desktop 1280x800 | mobile 390x844 | ...>   When: <UTC time>

| # | Step | Expected | Actual | Result |
| - | ---- | -------- | ------ | ------ |
| 1 | navigate to /signup | form visible | form visible | pass |
| 2 | fill email, password; submit | redirect to /welcome | 422, "email taken" | FAIL |

Evidence: screenshot after step 2; console: 1 error (TypeError in app.js:120)
Network failures: POST /api/signup 422
Performance: LCP 1.9 s, CLS 0.02
\`\`\`

## Rules
- One assertion per step: what you expected to see, checked on the page (text, URL, element state).
- FAIL is the product misbehaving; BLOCKED is the test unable to run (page down, policy blocked the URL).
- Always attach the final screenshot (\`chrome_screenshot\`) and the console errors
  (\`chrome_console_messages\`) of a failing step.
- Keep flaky waits out: wait for a selector, text or network idle, never a fixed delay.
- The latest results of this session's runs are also available live from the DevTools server.
`,
    },
  ],
};

import type { CatalogueResource, PromptTemplate } from "@omni/contracts";

/**
 * The devtools server's catalogue entry: the description, default prompts and static documents the gateway
 * upserts into the database when it discovers an instance (see `ServerCapabilities`).
 */
export const description =
  "Browser automation and debugging over real Chromium: navigate, inspect, fill forms, screenshot, read console and network, trace performance and hunt memory leaks, in an isolated browser context per session.";

/** Default prompts, named `<server>_<verb>_<object>` (checked by servers/catalogue.test.ts). */
export const prompts: PromptTemplate[] = [
  {
    name: "devtools_automate_task",
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
1. When the viewport is not desktop, emulate it first with chrome_emulate_device (or chrome_set_viewport for exact sizes). Then chrome_navigate to {{url}} and wait until the page is ready with chrome_wait_for (networkIdle, or a selector or text you expect).
2. Before each interaction, read the page with chrome_snapshot and use its element refs (like e12) with chrome_click, chrome_type, chrome_select_option and chrome_press_key; do not guess CSS selectors. Fill several form fields at once with chrome_fill_form where you can.
3. After each step, check that it worked with chrome_wait_for or chrome_get_text: the URL changed, the expected text appeared, or the form shows no validation error. Screenshot after each step: {{evidence}} (always screenshot at the end with chrome_screenshot).
4. After each navigation, read chrome_console_messages and chrome_page_errors; report errors even when the task succeeds.
5. If a step fails, try one alternative (another element, waiting longer with chrome_wait_for, chrome_scroll to bring it into view), then stop and report exactly where and why it failed, with a screenshot.

Never enter real personal data or credentials unless the user provided them for this task. Do not submit payments.

Report: each step with its outcome, the final URL, the final screenshot, and console errors seen.`,
      },
    ],
  },
  {
    name: "devtools_debug_page",
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
- errors: chrome_console_messages and chrome_page_errors (uncaught exceptions); for each error, the message, source file and line, and whether it happens on load or on interaction.
- network: chrome_list_requests; look for status >= 400, CORS failures, blocked or very slow requests; open the details (headers, response body) of the failing ones with chrome_get_request.
- performance: chrome_start_trace before the slow action and chrome_stop_trace after it, plus chrome_performance_metrics; drill into the failing insights it lists (ForcedReflow, LCPBreakdown, RenderBlocking, CLSCulprits…) with chrome_performance_insight, and run chrome_lighthouse_audit for scores and failing audits; report LCP, CLS and INP where measurable and the main causes (long tasks and their scripts, forced reflows, render-blocking resources, large images).
- layout: chrome_get_matched_styles of the misplaced element (which rule wins, what is overridden), chrome_get_computed_style, the viewport size, and a chrome_screenshot of the element.
- memory: chrome_take_heap_snapshot, repeat the action several times, take another, and chrome_compare_heap_snapshots to see which constructors grew.

Then look at the other areas briefly: problems often come in pairs (a failed request causing a console error).

Conclude with: the most likely root cause and the evidence for it, a minimal reproduction (steps), the fix you suggest (code-level when you can tell), and how to verify it.`,
      },
      {
        role: "assistant",
        text: "I'll reproduce the problem on {{url}} first and capture a screenshot before drawing any conclusion.",
      },
    ],
  },
  {
    name: "devtools_find_leak",
    title: "Find a memory leak",
    description: "Compare heap snapshots around a repeated action to find what grows.",
    arguments: [
      { name: "url", description: "Page to test", required: true },
      {
        name: "action",
        description: "The action to repeat, e.g. 'open and close the dialog'",
        required: true,
      },
    ],
    messages: [
      {
        role: "user",
        text: "Open {{url}}. Take a heap snapshot (chrome_take_heap_snapshot), then perform this action five times: {{action}}. Take a second snapshot and compare them with chrome_compare_heap_snapshots. Name the constructors that grew by a multiple of five and explain what in the page keeps them alive.",
      },
    ],
  },
];

/** Static guides, served as default resources (organizations may override them). */
export const defaultResources: CatalogueResource[] = [
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
- \`devtools://tabs\`: browser status and the session's open tabs (id, URL, title, which one is current).
- \`devtools://console\`: recent console messages and uncaught errors of the current tab.
- \`devtools://results/latest\`: the outcome of the session's most recent tool calls.
- Tools: \`chrome_browser_status\`, \`chrome_list_tabs\`, \`chrome_get_cookies\`, \`chrome_get_storage\`
(local or session storage).

## Changing state
- Tabs: \`chrome_new_tab\`, \`chrome_select_tab\`, \`chrome_close_tab\`. Tools act on the current tab.
- Storage: \`chrome_set_cookie\`, \`chrome_clear_cookies\`, \`chrome_set_storage\`, \`chrome_clear_storage\`:
useful to log in with a test session token, or to reset a flow.
- Emulation: \`chrome_set_viewport\`, \`chrome_emulate_device\`, \`chrome_set_user_agent\`,
\`chrome_set_geolocation\`, \`chrome_set_color_scheme\` and \`chrome_throttle_cpu\` stay set for the tab
until changed.
- Network: \`chrome_block_urls\`, \`chrome_set_extra_headers\`, \`chrome_throttle_network\` and
\`chrome_set_offline\` stay active for the session.

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
- Keep flaky waits out: \`chrome_wait_for\` a selector, text or network idle, never a fixed delay.
- The outcome of this session's latest tool calls is also live in the resource \`devtools://results/latest\`.
`,
  },
];

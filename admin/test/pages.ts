/** Every page of the dashboard: its h1 and path (the axe test and the screenshot script walk them). */
export const PAGES = [
  ["Overview", "/admin/"],
  ["Sessions", "/admin/sessions"],
  ["Audit", "/admin/audit"],
  ["Servers", "/admin/servers"],
  ["Tools", "/admin/tools"],
  ["Prompts", "/admin/prompts"],
  ["Resources", "/admin/resources"],
  ["Federated servers", "/admin/federation"],
  ["Tool policy", "/admin/policy"],
  ["Members and roles", "/admin/members"],
  ["API keys", "/admin/keys"],
  ["Organization settings", "/admin/settings"],
  ["Connect a client", "/admin/connect"],
  ["API reference", "/admin/api-reference"],
] as const;

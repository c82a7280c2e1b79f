import type { CallToolResult } from "@omni/contracts";
import type { IssueDetail, IssueSummary, PageInfo, UserRef } from "./model.ts";

/** A tool result: readable text for the model, the same data as `structuredContent`. */
export function result(text: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured };
}

export const who = (user: UserRef | null | undefined) =>
  user ? user.displayName || user.name : "unassigned";

export function issueLine(issue: IssueSummary): string {
  const parts = [
    `${issue.identifier} [${issue.state.name}] ${issue.title}`,
    `assignee: ${who(issue.assignee)}`,
    `priority: ${issue.priorityLabel}`,
  ];
  if (issue.estimate !== null) parts.push(`estimate: ${issue.estimate}`);
  if (issue.dueDate) parts.push(`due ${issue.dueDate}`);
  if (issue.labels.length) parts.push(`labels: ${issue.labels.map((l) => l.name).join(", ")}`);
  if (issue.project) parts.push(`project: ${issue.project.name}`);
  return `- ${parts.join(" · ")}\n  ${issue.url}`;
}

export function moreHint(pageInfo: PageInfo): string {
  return pageInfo.hasNextPage && pageInfo.endCursor
    ? `\nMore results: call again with cursor "${pageInfo.endCursor}".`
    : "";
}

export function issueText(issue: IssueDetail): string {
  const lines = [
    `${issue.identifier}: ${issue.title}`,
    `URL: ${issue.url}`,
    `Team: ${issue.team.name} (${issue.team.key}) · State: ${issue.state.name} (${issue.state.type})`,
    `Assignee: ${who(issue.assignee)} · Priority: ${issue.priorityLabel} (${issue.priority})` +
      (issue.estimate !== null ? ` · Estimate: ${issue.estimate}` : "") +
      (issue.dueDate ? ` · Due: ${issue.dueDate}` : ""),
  ];
  if (issue.labels.length) lines.push(`Labels: ${issue.labels.map((l) => l.name).join(", ")}`);
  if (issue.project) lines.push(`Project: ${issue.project.name}`);
  if (issue.cycle) lines.push(`Cycle: ${issue.cycle.name ?? `#${issue.cycle.number}`}`);
  if (issue.parent) lines.push(`Parent: ${issue.parent.identifier} ${issue.parent.title}`);
  if (issue.creator)
    lines.push(`Created by ${who(issue.creator)} at ${issue.createdAt}; updated ${issue.updatedAt}`);
  lines.push("", issue.description?.trim() || "(no description)");
  if (issue.children.length) {
    lines.push("", "Sub-issues:");
    for (const c of issue.children) lines.push(`- ${c.identifier} [${c.state.name}] ${c.title}`);
  }
  if (issue.comments.length) {
    lines.push("", `Comments (${issue.comments.length}):`);
    for (const c of issue.comments) lines.push(`- ${who(c.user)} at ${c.createdAt}: ${c.body}`);
  }
  return lines.join("\n");
}

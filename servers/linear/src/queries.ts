/**
 * The GraphQL operations this server sends through the SDK's client. Each selects only what the tools
 * show, in one round trip (the SDK's model getters would fetch every relation separately).
 */

const USER = "id name displayName email";
const TEAM_REF = "id key name";

export const ISSUE_SUMMARY = `id identifier title priority priorityLabel estimate dueDate url createdAt updatedAt
  state { id name type }
  assignee { ${USER} }
  team { ${TEAM_REF} }
  project { id name }
  cycle { id number name }
  labels(first: 50) { nodes { id name color } }`;

const PAGE_INFO = "pageInfo { hasNextPage endCursor }";

export const TEAMS = `query omniTeams($first: Int, $after: String) {
  teams(first: $first, after: $after) {
    nodes { id key name description private timezone }
    ${PAGE_INFO}
  }
}`;

export const USERS = `query omniUsers($filter: UserFilter, $first: Int, $after: String, $includeDisabled: Boolean) {
  users(filter: $filter, first: $first, after: $after, includeDisabled: $includeDisabled) {
    nodes { ${USER} active admin guest isMe }
    ${PAGE_INFO}
  }
}`;

export const ISSUES = `query omniIssues($filter: IssueFilter, $first: Int, $after: String) {
  issues(filter: $filter, first: $first, after: $after, orderBy: updatedAt) {
    nodes { ${ISSUE_SUMMARY} }
    ${PAGE_INFO}
  }
}`;

export const SEARCH_ISSUES = `query omniSearchIssues($term: String!, $filter: IssueFilter, $first: Int, $after: String) {
  searchIssues(term: $term, filter: $filter, first: $first, after: $after) {
    nodes { ${ISSUE_SUMMARY} }
    ${PAGE_INFO}
    totalCount
  }
}`;

export const ISSUE = `query omniIssue($id: String!) {
  issue(id: $id) {
    ${ISSUE_SUMMARY}
    description
    creator { ${USER} }
    parent { id identifier title }
    children(first: 50) { nodes { id identifier title state { id name type } } }
    comments(first: 50) { nodes { id body createdAt url user { ${USER} } } }
  }
}`;

/** What resolving names needs for one team: its workflow states and labels (plus workspace labels). */
const TEAM_CONTEXT = `id key name
      states(first: 100) { nodes { id name type } }
      labels(first: 250) { nodes { id name } }`;

export const RESOLVE_TEAM = `query omniResolveTeam($filter: TeamFilter) {
  teams(filter: $filter, first: 5) { nodes { ${TEAM_CONTEXT} } }
  issueLabels(filter: { team: { null: true } }, first: 250) { nodes { id name } }
}`;

export const RESOLVE_ISSUE = `query omniResolveIssue($id: String!) {
  issue(id: $id) {
    id identifier
    labels(first: 50) { nodes { id name } }
    team { ${TEAM_CONTEXT} }
  }
  issueLabels(filter: { team: { null: true } }, first: 250) { nodes { id name } }
}`;

export const ISSUE_REF = `query omniIssueRef($id: String!) {
  issue(id: $id) { id identifier title url }
}`;

export const VIEWER = "query omniViewer { viewer { id name displayName email } }";

export const FIND_USERS = `query omniFindUsers($filter: UserFilter) {
  users(filter: $filter, first: 5) { nodes { ${USER} } }
}`;

export const FIND_PROJECTS = `query omniFindProjects($filter: ProjectFilter) {
  projects(filter: $filter, first: 5) { nodes { id name } }
}`;

export const COMMENT = `query omniComment($id: String!) {
  comment(id: $id) { id body createdAt url user { ${USER} } }
}`;

export const PROJECTS = `query omniProjects($filter: ProjectFilter, $first: Int, $after: String) {
  projects(filter: $filter, first: $first, after: $after, orderBy: updatedAt) {
    nodes {
      id name description url progress startDate targetDate
      status { name type }
      lead { ${USER} }
      teams(first: 20) { nodes { ${TEAM_REF} } }
    }
    ${PAGE_INFO}
  }
}`;

export const CYCLES = `query omniCycles($filter: CycleFilter, $first: Int, $after: String) {
  cycles(filter: $filter, first: $first, after: $after) {
    nodes { id number name startsAt endsAt completedAt progress isActive team { ${TEAM_REF} } }
    ${PAGE_INFO}
  }
}`;

export const WORKFLOW_STATES = `query omniWorkflowStates($filter: WorkflowStateFilter, $first: Int, $after: String) {
  workflowStates(filter: $filter, first: $first, after: $after) {
    nodes { id name type color position description team { ${TEAM_REF} } }
    ${PAGE_INFO}
  }
}`;

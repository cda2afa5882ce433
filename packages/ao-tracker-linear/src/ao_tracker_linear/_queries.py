"""The GraphQL documents the plugin sends: one named operation each, no fragments."""

from __future__ import annotations

__all__ = [
    "COMMENT_CREATE",
    "ISSUE",
    "ISSUES",
    "ISSUE_CREATE",
    "ISSUE_LABELS",
    "ISSUE_UPDATE",
    "TEAMS",
    "USERS",
    "VIEWER",
    "WORKFLOW_STATES",
]

ISSUE_FIELDS = """
    id
    identifier
    title
    description
    url
    priority
    priorityLabel
    branchName
    state { id name type }
    labels(first: 100) { nodes { id name } }
    assignee { id name displayName email }
    team { id key name }
"""
"""What the plugin reads of an issue (spliced into each document: the fields, not a fragment)."""

ISSUE = f"""
query AoIssue($id: String!) {{
  issue(id: $id) {{ {ISSUE_FIELDS} }}
}}
"""

ISSUES = f"""
query AoIssues($filter: IssueFilter, $first: Int!, $after: String) {{
  issues(filter: $filter, first: $first, after: $after) {{
    nodes {{ {ISSUE_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

TEAMS = """
query AoTeams($filter: TeamFilter) {
  teams(filter: $filter, first: 2) { nodes { id key name } }
}
"""

WORKFLOW_STATES = """
query AoWorkflowStates($teamId: ID!) {
  workflowStates(filter: { team: { id: { eq: $teamId } } }, first: 100) {
    nodes { id name type position }
  }
}
"""

ISSUE_LABELS = """
query AoIssueLabels($teamId: ID!, $after: String) {
  issueLabels(
    filter: { or: [{ team: { id: { eq: $teamId } } }, { team: { null: true } }] }
    first: 250
    after: $after
  ) {
    nodes { id name team { id } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

USERS = """
query AoUsers($filter: UserFilter) {
  users(filter: $filter, first: 5) { nodes { id name displayName email } }
}
"""

VIEWER = """
query AoViewer {
  viewer { id name displayName email }
}
"""

ISSUE_UPDATE = """
mutation AoIssueUpdate($id: String!, $input: IssueUpdateInput!) {
  issueUpdate(id: $id, input: $input) { success }
}
"""

COMMENT_CREATE = """
mutation AoCommentCreate($input: CommentCreateInput!) {
  commentCreate(input: $input) { success comment { id } }
}
"""

ISSUE_CREATE = f"""
mutation AoIssueCreate($input: IssueCreateInput!) {{
  issueCreate(input: $input) {{ success issue {{ {ISSUE_FIELDS} }} }}
}}
"""

// The playground: a page for policy authors and support engineers over the sidecar's own API
// (`/v1/search`, `/v1/schema/actions`, `/v1/explain`, `/v1/actions_allowed`,
// `/v1/users/{email}/accounts`). It holds no data of its own: every answer comes from the API
// with the token typed into the header, and every text from the store is written with
// `textContent`, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "partner-access.token";
let actions = new Map(); // name -> action description from /v1/schema/actions
let accountsCursor = null; // `next` of the user's accounts list

async function api(method, path, body) {
  const headers = { accept: "application/json" };
  const token = $("token").value.trim();
  if (token) headers.authorization = "Bearer " + token;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let answer = null;
  try {
    answer = await response.json();
  } catch (_) {
    // Not JSON: reported below by status.
  }
  if (!response.ok) {
    const message = answer && answer.error ? answer.error.message : response.statusText;
    throw new Error(`${response.status}: ${message}`);
  }
  if (answer && typeof answer.revision === "number") {
    $("revision").textContent = `store revision ${answer.revision}`;
  }
  return answer;
}

function showError(error) {
  $("error").textContent = error ? String(error.message || error) : "";
  $("error").hidden = !error;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function resourceType() {
  const action = actions.get($("action").value);
  const types = action ? action.resource_types : ["Hub::Account"];
  return types.includes("Hub::Account") ? "Hub::Account" : types[0];
}

// ---- searchable pickers -------------------------------------------------------------------

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

async function suggest(kind, input, list) {
  try {
    const found = await api("GET", `/v1/search?kind=${kind}&q=${encodeURIComponent(input.value)}&limit=20`);
    list.replaceChildren(
      ...found.matches.map((m) => {
        const option = element("option");
        option.value = m.id;
        option.label = m.label;
        return option;
      }),
    );
  } catch (error) {
    showError(error);
  }
}

function resourceKind() {
  return resourceType() === "Hub::Partner" ? "partner" : "account";
}

// ---- the decision -------------------------------------------------------------------------

function requestBody() {
  let context = {};
  const text = $("context").value.trim();
  if (text) {
    try {
      context = JSON.parse(text);
    } catch (error) {
      throw new Error(`context: not JSON (${error.message})`);
    }
  }
  return {
    principal: { type: "Hub::User", id: $("principal").value.trim() },
    action: { type: "Hub::Action", id: $("action").value },
    resource: { type: resourceType(), id: $("resource").value.trim() },
    context,
  };
}

function renderPolicy(policy) {
  const node = $("policy-template").content.firstElementChild.cloneNode(true);
  node.classList.add(policy.effect);
  node.querySelector(".effect").textContent = policy.effect;
  node.querySelector(".policy-id").textContent = policy.id;
  node.querySelector(".rules").textContent = policy.rules.length ? `(${policy.rules.join(", ")})` : "";
  node.querySelector(".description").textContent = policy.description || "";
  node.querySelector(".where").textContent = policy.file ? `${policy.file}, line ${policy.line}` : "";
  node.querySelector(".text").textContent = policy.text;
  return node;
}

function renderCandidate(candidate) {
  const node = element("article", undefined, "policy permit");
  const title = element("h3");
  title.append(element("code", candidate.id), ` ${candidate.rules.length ? `(${candidate.rules.join(", ")})` : ""}`);
  node.append(title, element("p", candidate.description || ""));
  if (!candidate.scope_matches) {
    node.append(element("p", "Not in its scope: it is for other principals, actions or resources.", "muted"));
    return node;
  }
  const table = element("table");
  const head = element("tr");
  head.append(element("th", "condition"), element("th", "value"));
  table.append(head);
  for (const c of candidate.conditions) {
    const row = element("tr");
    const condition = element("td");
    condition.append(element("code", c.condition));
    row.append(condition, element("td", c.outcome, `outcome-${c.outcome}`));
    table.append(row);
  }
  node.append(table);
  return node;
}

async function decide(event) {
  if (event) event.preventDefault();
  showError(null);
  $("decide").disabled = true;
  try {
    const answer = await api("POST", "/v1/explain", requestBody());
    const badge = $("decision");
    badge.textContent = answer.decision;
    badge.className = `badge ${answer.decision === "Allow" ? "allow" : "deny"}`;
    $("summary").textContent = answer.summary;
    $("facts").replaceChildren(...answer.facts.map((f) => element("li", f)));
    $("determining").replaceChildren(...answer.determining.map(renderPolicy));
    $("no-determining").hidden = answer.determining.length > 0;
    $("candidates").replaceChildren(...answer.candidates.map(renderCandidate));
    $("candidates-box").hidden = answer.decision === "Allow" || answer.candidates.length === 0;
    $("result").hidden = false;
    await showUser();
  } catch (error) {
    showError(error);
  } finally {
    $("decide").disabled = false;
  }
}

// ---- what the user may do -----------------------------------------------------------------

function chip(text, onClick) {
  const item = element("li");
  const button = element("button", text);
  button.type = "button";
  button.addEventListener("click", onClick);
  item.append(button);
  return item;
}

async function showUser() {
  const email = $("principal").value.trim();
  const action = $("action").value;
  $("user-name").textContent = email;
  $("user-action").textContent = action;
  $("user-account").textContent = $("resource").value.trim();
  const allowed = await api("POST", "/v1/actions_allowed", {
    principal: { type: "Hub::User", id: email },
    resource: { type: resourceType(), id: $("resource").value.trim() },
  });
  $("allowed-actions").replaceChildren(
    ...(allowed.allowed.length
      ? allowed.allowed.map((name) => chip(name, () => pick({ action: name })))
      : [element("li", "none", "muted")]),
  );
  $("user-accounts").replaceChildren();
  accountsCursor = null;
  $("more-accounts").hidden = true;
  if (resourceType() === "Hub::Account") await moreAccounts();
  else $("user-accounts").append(element("li", "(the action is not on accounts)", "muted"));
  $("user").hidden = false;
}

async function moreAccounts() {
  const email = $("principal").value.trim();
  let path = `/v1/users/${encodeURIComponent(email)}/accounts?action=${encodeURIComponent($("action").value)}&limit=50`;
  if (accountsCursor) path += `&after=${encodeURIComponent(accountsCursor)}`;
  try {
    const page = await api("GET", path);
    for (const account of page.accounts) {
      $("user-accounts").append(chip(account.id, () => pick({ resource: account.id })));
    }
    accountsCursor = page.next;
    $("more-accounts").hidden = !page.next;
    if (!page.next && $("user-accounts").children.length === 0) {
      $("user-accounts").append(element("li", "none", "muted"));
    }
  } catch (error) {
    showError(error);
  }
}

function pick({ action, resource }) {
  if (action) $("action").value = action;
  if (resource) $("resource").value = resource;
  describeAction();
  decide();
}

// ---- set-up -------------------------------------------------------------------------------

function describeAction() {
  const action = actions.get($("action").value);
  $("action-doc").textContent = action ? `${action.description} ${action.rules.length ? `(${action.rules.join(", ")})` : ""}` : "";
  $("resource-label").textContent = resourceType() === "Hub::Partner" ? "Partner" : "Account";
  $("resource").placeholder = resourceType() === "Hub::Partner" ? "type a partner id: p-…" : "type an account id: c-…";
}

async function loadActions() {
  try {
    const answer = await api("GET", "/v1/schema/actions");
    actions = new Map(answer.actions.map((a) => [a.name, a]));
    const groups = [
      ["Permissions and features (checks)", answer.actions.filter((a) => a.permission || a.name.endsWith("paid_features"))],
      ["Commands and reads", answer.actions.filter((a) => !(a.permission || a.name.endsWith("paid_features")))],
    ];
    const select = $("action");
    const previous = select.value;
    select.replaceChildren();
    for (const [label, list] of groups) {
      const group = element("optgroup");
      group.label = label;
      for (const a of list) {
        const option = element("option", a.name);
        option.value = a.name;
        group.append(option);
      }
      select.append(group);
    }
    if (previous && actions.has(previous)) select.value = previous;
    describeAction();
    showError(null);
  } catch (error) {
    showError(error);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("token").value = sessionStorage.getItem(TOKEN_KEY) || "";
  $("token").addEventListener("change", () => {
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    loadActions();
  });
  const principalSuggest = debounce(() => suggest("user", $("principal"), $("principal-options")), 150);
  const resourceSuggest = debounce(() => suggest(resourceKind(), $("resource"), $("resource-options")), 150);
  $("principal").addEventListener("input", principalSuggest);
  $("principal").addEventListener("focus", principalSuggest);
  $("resource").addEventListener("input", resourceSuggest);
  $("resource").addEventListener("focus", resourceSuggest);
  $("action").addEventListener("change", describeAction);
  $("ask").addEventListener("submit", decide);
  $("more-accounts").addEventListener("click", moreAccounts);
  loadActions();
});

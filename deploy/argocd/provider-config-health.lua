-- Argo CD health check for zpa.operator.dev ZpaProviderConfig (cluster-scoped).
--
-- Install it as resource.customizations.health.zpa.operator.dev_ZpaProviderConfig
-- in argocd-cm (see argocd-cm-patch.yaml). Base and table libraries only.
--
-- A provider config has one condition, Ready: True once a sign-in to ZPA
-- succeeded.
--   deletionTimestamp set                         -> Progressing ("deleting")
--   no status, or observedGeneration behind       -> Progressing
--   Ready=True                                    -> Healthy
--   Ready=False, ReferenceNotFound/NotReady       -> Suspended (the credentials Secret or a key is missing)
--   Ready=False, RateLimited/ReconcileError       -> Progressing (transient, retried)
--   Ready=False, any other reason (Unauthorized, InvalidSpec, ...) -> Degraded
--   no Ready condition                            -> Progressing

local health = {}

local function find_condition(status, wanted)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, condition in ipairs(status.conditions) do
    if condition.type == wanted then
      return condition
    end
  end
  return nil
end

local function describe(condition, fallback)
  if condition == nil then
    return fallback
  end
  local reason = condition.reason
  local message = condition.message
  if reason ~= nil and reason ~= "" and message ~= nil and message ~= "" then
    return reason .. ": " .. message
  end
  if message ~= nil and message ~= "" then
    return message
  end
  if reason ~= nil and reason ~= "" then
    return reason
  end
  return fallback
end

local function result(status, message)
  health.status = status
  health.message = message
  return health
end

local metadata = obj.metadata or {}
local status = obj.status

if metadata.deletionTimestamp ~= nil then
  return result("Progressing", "deleting")
end
if status == nil then
  return result("Progressing", "waiting for the operator to report status")
end
local generation = tonumber(metadata.generation)
local observed = tonumber(status.observedGeneration)
if observed == nil or (generation ~= nil and observed < generation) then
  return result("Progressing", "waiting for the operator to observe the latest spec")
end

local ready = find_condition(status, "Ready")
if ready == nil then
  return result("Progressing", "waiting for the Ready condition")
end
if ready.status == "True" then
  return result("Healthy", describe(ready, "signed in"))
end
local reason = ready.reason
if reason == "ReferenceNotFound" or reason == "ReferenceNotReady" then
  return result("Suspended", describe(ready, "waiting for the credentials Secret"))
end
if reason == "RateLimited" or reason == "ReconcileError" then
  return result("Progressing", describe(ready, "retrying"))
end
return result("Degraded", describe(ready, "cannot sign in"))

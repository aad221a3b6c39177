-- Argo CD health check for zpa.operator.dev IsolationProfile and Microtenant.
--
-- Install it as resource.customizations.health.zpa.operator.dev_IsolationProfile
-- and ..._Microtenant in argocd-cm (see argocd-cm-patch.yaml, generated from
-- this file). Argo CD runs custom checks with only Lua's base and table
-- libraries: no string library here, on purpose.
--
-- Order matters:
--   1. deletionTimestamp set                      -> Progressing ("deleting")
--   2. no status, or observedGeneration behind    -> Progressing (a new object
--      reads observedGeneration 0, the CRDs' status default)
--   3. Synced=False (checked before Ready=True, so an object that was Ready
--      once but no longer syncs is never reported Healthy):
--        ReferenceNotFound, ReferenceNotReady    -> Suspended (waits for another object)
--        ReconcilePaused                         -> Suspended (zpa.operator.dev/paused)
--        RateLimited, ReconcileError             -> Progressing (transient, retried)
--        any other reason                        -> Degraded
--   4. Ready=True                                 -> Healthy
--   5. Ready=False, reason Creating/Updating/Deleting -> Progressing
--   6. anything else                              -> Progressing

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

-- "Reason: message", or whichever of the two is set, or the fallback.
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
local synced = find_condition(status, "Synced")
local ready = find_condition(status, "Ready")

-- 1. Being deleted: the finalizer deletes the remote object first (or keeps
-- it, with deletionPolicy Orphan). Say why it is stuck when it is.
if metadata.deletionTimestamp ~= nil then
  if synced ~= nil and synced.status == "False" then
    return result("Progressing", "deleting: " .. describe(synced, "waiting for the operator"))
  end
  return result("Progressing", "deleting")
end

-- 2. The operator has not looked at this generation of the spec yet.
if status == nil then
  return result("Progressing", "waiting for the operator to report status")
end
local generation = tonumber(metadata.generation)
local observed = tonumber(status.observedGeneration)
if observed == nil or (generation ~= nil and observed < generation) then
  return result("Progressing", "waiting for the operator to observe the latest spec")
end

-- 3. Not in sync with ZPA.
if synced ~= nil and synced.status == "False" then
  local reason = synced.reason
  if reason == "ReferenceNotFound" or reason == "ReferenceNotReady" or reason == "ReconcilePaused" then
    return result("Suspended", describe(synced, "waiting"))
  end
  if reason == "RateLimited" or reason == "ReconcileError" then
    return result("Progressing", describe(synced, "retrying"))
  end
  return result("Degraded", describe(synced, "not synced"))
end

-- 4. In sync and available.
if ready ~= nil and ready.status == "True" then
  return result("Healthy", describe(ready, "available"))
end

-- 5. and 6. On its way.
if ready ~= nil and ready.status == "False" then
  local reason = ready.reason
  if reason == "Creating" or reason == "Updating" or reason == "Deleting" then
    return result("Progressing", describe(ready, reason))
  end
  return result("Progressing", describe(ready, "not ready"))
end
return result("Progressing", "waiting for the Ready condition")

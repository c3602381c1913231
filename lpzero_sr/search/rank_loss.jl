# Rank loss for PySR's full-objective `loss_function` (lpzero_sr.search.pysr_engine appends the entry point).
#
# Rows of `dataset` are table rows. `dataset.weights` carries each row's architecture id (1..n_archs, stored
# as floats) and `dataset.y` each row's oriented target (its architecture's target, higher is better). The tree
# is evaluated per row, the values are aggregated per architecture (sum or mean; with one row per architecture
# this is the identity), and the loss is 1 - corr(aggregated score, target). Incomplete or non-finite output and
# constant scores get LPZERO_WORST_LOSS, as in lpzero_sr.ranking.rank_loss.

const LPZERO_WORST_LOSS = 2.0

# Ranks 1..n with ties sharing their average rank (as scipy.stats.rankdata).
function lpzero_ranks(x::AbstractVector)
    n = length(x)
    order = sortperm(x)
    r = zeros(Float64, n)
    i = 1
    while i <= n
        j = i
        while j < n && x[order[j + 1]] == x[order[i]]
            j += 1
        end
        for k in i:j
            r[order[k]] = (i + j) / 2
        end
        i = j + 1
    end
    return r
end

function lpzero_pearson(a::AbstractVector, b::AbstractVector)
    da = a .- sum(a) / length(a)
    db = b .- sum(b) / length(b)
    den = sqrt(sum(abs2, da) * sum(abs2, db))
    return den == 0 ? NaN : sum(da .* db) / den
end

lpzero_spearman(a::AbstractVector, b::AbstractVector) = lpzero_pearson(lpzero_ranks(a), lpzero_ranks(b))

# Kendall's tau-b (as scipy.stats.kendalltau), O(n^2).
function lpzero_kendall(a::AbstractVector, b::AbstractVector)
    n = length(a)
    s = 0.0
    ties_a = 0
    ties_b = 0
    for i in 1:(n - 1), j in (i + 1):n
        sa = sign(a[i] - a[j])
        sb = sign(b[i] - b[j])
        s += sa * sb
        ties_a += sa == 0
        ties_b += sb == 0
    end
    pairs = n * (n - 1) / 2
    den = sqrt((pairs - ties_a) * (pairs - ties_b))
    return den == 0 ? NaN : s / den
end

function lpzero_aggregate(values::AbstractVector, groups::Vector{Int}, n::Int, how::Symbol)
    total = zeros(Float64, n)
    count = zeros(Int, n)
    for (v, g) in zip(values, groups)
        total[g] += v
        count[g] += 1
    end
    if how === :mean
        total ./= max.(count, 1)
    end
    return total
end

function lpzero_rank_loss(tree, dataset::Dataset{T,L}, options, method::Symbol, how::Symbol)::L where {T,L}
    prediction, complete = eval_tree_array(tree, dataset.X, options)
    if !complete || !all(isfinite, prediction)
        return L(LPZERO_WORST_LOSS)
    end
    groups = round.(Int, dataset.weights)
    n = maximum(groups)
    score = lpzero_aggregate(prediction, groups, n, how)
    target = zeros(Float64, n)
    for (y, g) in zip(dataset.y, groups)
        target[g] = y
    end
    if all(==(score[1]), score)
        return L(LPZERO_WORST_LOSS)
    end
    corr = method === :kendall ? lpzero_kendall(score, target) : lpzero_spearman(score, target)
    return isfinite(corr) ? L(1 - corr) : L(LPZERO_WORST_LOSS)
end

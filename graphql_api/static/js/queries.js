// The page's GraphQL documents. benchmarks/page.py reads this file and times these same documents.

export const SIGN_IN = `query SignIn { viewer { admin partnerId } months }`;

export const PARTNER = `query Partner($id: ID!) {
  partner(id: $id) {
    id name inRegistry
    trend { months score { values } attained bestTrack paths { track total { values } qualifies } }
  }
}`;

export const PARTNER_MONTH = `query PartnerMonth($id: ID!, $month: Month) {
  partner(id: $id) {
    id
    scorecard(month: $month) {
      month attained bestTrack score rulebookId
      paths {
        track total qualifies metricsAtMinimum
        metrics { metric points maxPoints value option current yearAgo adjustment }
      }
    }
    status(month: $month) { month state qualified sinceMonth track validThrough }
  }
}`;

export const CUSTOMERS = `query Customers($id: ID!, $month: Month, $after: String) {
  partner(id: $id) {
    customers(month: $month, first: 100, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        tenantId track option eligible seatBand maxPaidSeats workloadCount associatedOn
        paidSeats activeUsers activeRatio counted countedYearAgo deployed deployedYearAgo excluded baselineUsers
      }
    }
  }
}`;

export const SKILLING = `query Skilling($id: ID!, $month: Month) {
  partner(id: $id) {
    skilling(month: $month) {
      month intermediatePersons advancedPersons
      persons {
        personId countsIntermediate countsAdvanced
        certifications { name level earnedOn expiresOn active counts countsThrough notCountingReason }
      }
    }
  }
}`;

export const SIMULATE = `query Simulate($id: ID!, $month: Month, $changes: SimulationChangesInput!) {
  simulate(partnerId: $id, month: $month, changes: $changes) {
    month scoreDelta attainedChanges
    actual { score attained bestTrack }
    simulated { score attained bestTrack }
    metricDeltas { track metric actualPoints simulatedPoints delta actualValue simulatedValue }
  }
}`;

export const OVERVIEW = `query Overview($month: Month) {
  programOverview(month: $month) {
    distributionMonth
    months { month partnersScored partnersAttained qualifyingEnterprise qualifyingSmb }
    scoreDistribution { from to partners }
  }
}`;

export const CLOSEST_MISSES = `query ClosestMisses($month: Month!) {
  designations(month: $month, attained: false, first: 10) {
    nodes { partnerId score bestTrack partner { name } paths { track total metricsAtMinimum } }
  }
}`;

export const SEARCH = `query Search($text: String!) { partnerSearch(text: $text, first: 20) { id name } }`;

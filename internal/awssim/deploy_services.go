package awssim

// deployServices builds ECS, ELBv2 and CodeDeploy, which share state: CodeDeploy
// drives ECS task sets and ELBv2 listener weights.
func deployServices(env Env, alarms AlarmStates) []Service {
	_, _ = env, alarms
	return nil
}

//! The one message catalogue of the app: every text a screen shows is a
//! [`Msg`] key looked up in [`Lang`]. Simplified Chinese is the default and
//! English the second locale; components never hold literal text.

/// A display language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    /// Returns the BCP 47 tag, used for the `lang` attribute of the page.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Looks up a message.
    pub fn t(self, key: Msg) -> &'static str {
        let [zh, en] = entry(key);
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// Looks up a message and replaces each `{name}` with its value.
    pub fn tf(self, key: Msg, args: &[(&str, String)]) -> String {
        let mut text = self.t(key).to_owned();
        for (name, value) in args {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }
}

macro_rules! catalogue {
    ($($key:ident => [$zh:expr, $en:expr $(,)?],)*) => {
        /// A key of the message catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Msg { $($key,)* }

        impl Msg {
            /// Every key, in catalogue order.
            pub const ALL: &'static [Msg] = &[$(Msg::$key,)*];
        }

        fn entry(key: Msg) -> [&'static str; 2] {
            match key { $(Msg::$key => [$zh, $en],)* }
        }
    };
}

catalogue! {
    AppTitle => ["红马甲", "Redvest"],
    LanguageName => ["中文", "English"],
    SignInTitle => ["登录", "Sign in"],
    ServerAddress => ["服务器地址", "Server address"],
    Phone => ["手机号", "Phone number"],
    Password => ["密码", "Password"],
    SignInButton => ["登录", "Sign in"],
    SigningIn => ["正在登录…", "Signing in…"],
    SignOut => ["退出登录", "Sign out"],
    SignInFailed => ["登录失败：{error}", "Sign-in failed: {error}"],
    FieldsMissing => ["请填写服务器地址、手机号和密码", "Enter the server address, phone number and password"],
    NoSecretStore => [
        "本机没有可用的安全存储，登录凭据不会保存：每次打开应用都需要重新登录",
        "No secure storage is available on this device, so the sign-in is not saved: sign in again each time you open the app",
    ],
    RoleVolunteer => ["队员", "Volunteer"],
    RoleSquadLeader => ["中队长", "Squad leader"],
    RoleBrigade => ["大队", "Brigade"],
    TabDuty => ["执勤打卡", "Duty"],
    TabPatrol => ["巡逻", "Patrol"],
    TabLead => ["上报线索", "Report"],
    TabMine => ["我的提交", "My submissions"],
    TabReview => ["审核", "Review"],
    TabEscalated => ["上报待办", "Escalated"],
    ClockOn => ["上岗打卡", "Clock on"],
    ClockOff => ["下岗打卡", "Clock off"],
    NearestSite => ["最近岗点：{site}", "Nearest site: {site}"],
    NoSites => ["还没有岗点，请先同步", "No duty sites yet: sync first"],
    DistanceAccuracy => ["距离 {distance} · 定位精度 {accuracy} 米", "{distance} away · fix accuracy {accuracy} m"],
    Metres => ["{count} 米", "{count} m"],
    Kilometres => ["{count} 千米", "{count} km"],
    NoFixYet => ["还没有定位", "No position fix yet"],
    TypedPosition => ["手动输入位置（纬度, 经度）", "Type a position (latitude, longitude)"],
    UseTypedPosition => ["使用此位置", "Use this position"],
    InvalidTypedPosition => [
        "位置格式不对：请输入“纬度, 经度”，例如 36.6432, 117.9661",
        "Invalid position: type \"latitude, longitude\", for example 36.6432, 117.9661",
    ],
    DistanceNoAccuracy => ["距离 {distance} · 定位精度未知", "{distance} away · fix accuracy unknown"],
    OnDutySince => ["在岗：{site}，已 {elapsed}", "On duty at {site} for {elapsed}"],
    ClockedOn => ["已打卡", "Clocked on"],
    FlagsTitle => ["需要中队长复核：", "Sent to your squad leader because:"],
    FlagOutsideFence => ["不在岗点范围内", "You are outside the duty site's area"],
    FlagUncertainPosition => ["定位不够准，无法确认在岗点内", "The fix is too rough to tell whether you are inside the site"],
    FlagPoorAccuracy => ["定位精度差（超过 50 米）", "Poor fix accuracy (worse than 50 m)"],
    FlagNoFix => ["没有定位", "No position fix"],
    FlagStaleFix => ["定位已过时，请稍等新的定位", "The fix is out of date: wait for a fresh one"],
    FlagMockLocation => ["检测到模拟定位", "A mock location was detected"],
    FlagEarly => ["早于执勤时段", "Before the duty window"],
    FlagLate => ["晚于执勤时段", "Late for the duty window"],
    FlagOutsideWindow => ["不在执勤时段内", "Outside the duty window"],
    FlagNotDutyDay => ["今天不是执勤日", "Today is not a duty day"],
    FlagClockSkew => ["手机时间与服务器相差过大", "The phone's clock differs from the server's"],
    FlagAlreadyOnDuty => ["已在其他岗点上岗", "Already on duty at another site"],
    FlagClockOutWithoutClockIn => ["下岗时没有对应的上岗记录", "Clock-off without a clock-on"],
    FlagUnknown => ["其他原因（{code}）", "Other reason ({code})"],
    PatrolStart => ["开始巡逻", "Start patrol"],
    PatrolPause => ["暂停", "Pause"],
    PatrolResume => ["继续", "Resume"],
    PatrolStop => ["结束巡逻", "Stop patrol"],
    PatrolLive => ["已记录 {points} 个点 · {distance} 千米", "{points} points · {distance} km"],
    PatrolPaused => ["巡逻已暂停", "Patrol paused"],
    PatrolSummary => ["巡逻小结", "Patrol summary"],
    SummaryDistance => ["距离：{distance} 千米", "Distance: {distance} km"],
    SummaryDuration => ["时长：{duration}", "Duration: {duration}"],
    SummaryPoints => ["保留 {kept} 个点，剔除 {rejected} 个点", "{kept} points kept, {rejected} rejected"],
    SummaryIncomplete => [
        "轨迹不完整：有 {gaps} 处中断，这些时段没有收到定位，地图上不会连线",
        "Incomplete: {gaps} gaps where no fixes arrived; they are not drawn as straight lines",
    ],
    LeadCategory => ["类别", "Category"],
    CatFireHazard => ["消防隐患", "Fire hazard"],
    CatTraffic => ["交通", "Traffic"],
    CatPublicOrder => ["治安秩序", "Public order"],
    CatSuspicious => ["可疑情况", "Suspicious"],
    CatDispute => ["矛盾纠纷", "Dispute"],
    CatNeedsHelp => ["需要帮助", "Needs help"],
    CatOther => ["其他", "Other"],
    LeadNote => ["说明", "Note"],
    LeadPhoto => ["照片", "Photo"],
    PhotoPath => ["照片文件路径", "Photo file path"],
    AddPhoto => ["添加照片", "Add photo"],
    PhotoFailed => ["照片无法使用：{error}", "The photo cannot be used: {error}"],
    PositionFromFix => ["位置：当前定位", "Position: current fix"],
    TypedAddress => ["没有定位时填写地址", "Address (when there is no fix)"],
    NoGpsFlag => ["无定位，将按地址上报", "No GPS: reported by address"],
    SubmitLead => ["提交线索", "Submit report"],
    LeadSaved => ["已保存，有信号时会自动上传", "Saved; it uploads when there is a signal"],
    LeadNeedsCategory => ["请选择类别", "Pick a category"],
    LeadNeedsPosition => ["没有定位时请填写地址", "With no fix, type an address"],
    StateQueued => ["待上传", "Queued"],
    StateSent => ["已上传", "Sent"],
    StateAccepted => ["已接收", "Accepted"],
    StateSubmitted => ["待审核", "Awaiting review"],
    StateApproved => ["已通过", "Approved"],
    StateRejected => ["已驳回：{reason}", "Rejected: {reason}"],
    StateEscalated => ["已上报大队", "Escalated to the brigade"],
    StateAssigned => ["已指派跟进", "Assigned for follow-up"],
    StateResolved => ["已办结", "Resolved"],
    StateNotStored => ["服务器拒收：{reason}", "Refused by the server: {reason}"],
    StateConflict => ["有冲突：{reason}", "Conflict: {reason}"],
    PhotosSent => ["照片 {sent}/{total} 已上传", "Photos {sent}/{total} sent"],
    KindClockIn => ["上岗打卡", "Clock-on"],
    KindLead => ["线索", "Report"],
    KindPatrol => ["巡逻", "Patrol"],
    NothingYet => ["暂无记录", "Nothing here yet"],
    QueueEmpty => ["没有待审核的提交", "Nothing to review"],
    Approve => ["通过", "Approve"],
    Reject => ["驳回", "Reject"],
    RejectReason => ["驳回理由", "Reason for rejecting"],
    ReasonRequired => ["驳回必须填写或选择理由", "A rejection needs a reason: type or pick one"],
    ReasonBlurry => ["照片看不清", "Photo is unclear"],
    ReasonDuplicate => ["重复上报", "Duplicate report"],
    ReasonWrongPlace => ["位置不对", "Wrong location"],
    ReasonNotHazard => ["不属于隐患", "Not a hazard"],
    DecisionQueued => ["已记录，有信号时会同步", "Recorded; it syncs when there is a signal"],
    SubmittedBy => ["提交人：{name}", "From {name}"],
    SyncPending => ["待同步 {count} 条", "{count} waiting to sync"],
    SyncLastSuccess => ["上次同步 {time}", "Last synced {time}"],
    SyncNever => ["尚未同步", "Not synced yet"],
    SyncLastError => ["同步出错：{error}", "Sync failed: {error}"],
    SyncSignInAgain => ["登录已失效，请重新登录", "Your sign-in expired: sign in again"],
    SyncNow => ["立即同步", "Sync now"],
    Offline => ["无法连接服务器", "Server unreachable"],
    ActionFailed => ["操作失败：{error}", "That failed: {error}"],
    FenceDistance => ["距离岗点边界 {distance} 米 · 定位精度未知", "{distance} m from the site's boundary · fix accuracy unknown"],
    FenceDistanceAccuracy => ["距离岗点边界 {distance} 米 · 定位精度 {accuracy} 米（图中浅色圆圈）", "{distance} m from the site's boundary · fix accuracy {accuracy} m (the pale circle)"],
    SiteUnknown => ["本机没有这个岗点的范围，请先同步", "This duty site's area is not on this phone yet: sync first"],
    TrackDrawing => ["巡逻轨迹图", "Patrol track drawing"],
    TrackEmpty => ["没有可画的轨迹点", "No track points to draw"],
    TrackStart => ["● 起点", "● Start"],
    TrackEnd => ["■ 终点", "■ End"],
    ShowRejected => ["显示被剔除的 {count} 个点", "Show the {count} rejected points"],
    HideRejected => ["隐藏被剔除的 {count} 个点", "Hide the {count} rejected points"],
    ShowTrack => ["查看轨迹", "Show the track"],
    HideTrack => ["收起轨迹", "Hide the track"],
    TrackNotHere => ["这次巡逻的轨迹不在本机上", "This patrol's track is not on this phone"],
    PatrolModeTitle => ["巡逻方式", "How you patrol"],
    ModeWalking => ["步行", "Walking"],
    ModeCycling => ["骑行", "Cycling"],
    ModeVehicle => ["车巡", "Vehicle"],
    PatrolRunning => ["巡逻进行中：现在上报的线索会关联到这次巡逻", "Patrol running: reports made now are linked to it"],
    LeadLinkedToPatrol => ["将关联到正在进行的巡逻", "Linked to the patrol in progress"],
    PhotoLimit => ["最多 {max} 张照片", "At most {max} photos"],
    PhotoCount => ["已选 {count}/{max} 张", "{count}/{max} photos"],
    RemovePhoto => ["删除这张照片", "Remove this photo"],
    PositionFromExif => ["位置：照片拍摄地点", "Position: where the photo was taken"],
    PhotosMissing => ["照片缺失：服务器只收到 {received}/{total} 张", "Photo missing: the server has {received} of {total}"],
    PhotoDownloading => ["照片下载中", "Downloading photo"],
    PhotoNotDownloaded => ["照片未下载", "Photo not downloaded"],
    PhotoNotHere => ["照片不在本机上", "Photo not on this phone"],
    PhotoAlt => ["线索照片 {index}", "Lead photo {index}"],
    PhotoShowFull => ["查看第 {index} 张大图", "Show photo {index} full size"],
    PhotoCloseFull => ["收起大图", "Close the full-size photo"],
    ShowDetails => ["详情", "Details"],
    HideDetails => ["收起", "Hide details"],
    HistoryCaptured => ["{time} 在手机上记录", "{time} recorded on this phone"],
    HistoryReceived => ["{time} 服务器收到", "{time} received by the server"],
    HistoryNow => ["现在：{state}", "Now: {state}"],
    LeadAddress => ["地址：{address}", "Address: {address}"],
    FilterKind => ["类型", "Kind"],
    FilterAll => ["全部", "All"],
    FilterFlagged => ["只看有疑点的", "Flagged only"],
    FilterState => ["状态", "State"],
    SelectItem => ["选中", "Select"],
    ApproveSelected => ["通过所选（{count} 条）", "Approve selected ({count})"],
    BatchApproved => ["已通过 {count} 条，有信号时会同步", "{count} approved; they sync when there is a signal"],
    Escalate => ["上报大队", "Escalate to the brigade"],
    Assign => ["指派队员跟进", "Assign for follow-up"],
    AssignTo => ["指派给", "Assign to"],
    AssignNote => ["跟进说明（可不填）", "Follow-up note (optional)"],
    NoMembers => ["还没有队员名单，请先同步", "No member list yet: sync first"],
    Resolve => ["办结", "Resolve"],
    ResolveNote => ["办结说明", "What was done"],
    NoteRequired => ["办结必须写明做了什么", "A resolution needs a note saying what was done"],
    AwaitingBrigade => ["已上报大队，等待大队处理", "Escalated: waiting for the brigade"],
    AwaitingAssignee => ["已指派，等待跟进人办结", "Assigned: waiting for the member to finish"],
    ConflictOn => ["{name} 的提交有审核冲突", "Review conflict on {name}'s submission"],
    ConflictDecidedFirst => ["另一位审核人先作出了决定：{reason}", "Another reviewer decided first: {reason}"],
    ConflictLaterDecision => [
        "{name} 后来作出的“{action}”未生效：{reason}",
        "{name}'s later decision ({action}) was not applied: {reason}",
    ],
    ErrUnauthorized => ["登录已失效，请重新登录", "Your sign-in expired: sign in again"],
    ErrBadCredentials => ["手机号或密码不对", "Wrong phone number or password"],
    ErrForbidden => ["你没有权限做这个操作", "You are not allowed to do that"],
    ErrInvalidDecision => ["这个审核决定现在不能执行，请同步后再看", "That decision is not possible now: sync and look again"],
    ErrTooManyAttempts => ["尝试次数太多，请稍后再试", "Too many attempts: wait a while and try again"],
    ErrInvalidRequest => ["服务器认为提交的内容不对，请检查后重试", "The server found the request invalid: check it and try again"],
    ErrNotFound => ["服务器上找不到这条记录", "The server does not have that record"],
    ErrPayloadTooLarge => ["文件太大，服务器拒收", "The file is too large for the server"],
    ErrServer => ["服务器出错，请稍后再试", "The server failed: try again later"],
    ErrUnreachable => ["连不上服务器，请检查网络", "Cannot reach the server: check the network"],
}

/// Returns the catalogue key that explains a verdict flag code.
pub fn flag_message(code: &str) -> Msg {
    match code {
        "outside_fence" => Msg::FlagOutsideFence,
        "uncertain_position" => Msg::FlagUncertainPosition,
        "poor_accuracy" => Msg::FlagPoorAccuracy,
        "no_fix" => Msg::FlagNoFix,
        "stale_fix" => Msg::FlagStaleFix,
        "mock_location" => Msg::FlagMockLocation,
        "early" => Msg::FlagEarly,
        "late" => Msg::FlagLate,
        "outside_window" => Msg::FlagOutsideWindow,
        "not_duty_day" => Msg::FlagNotDutyDay,
        "clock_skew" => Msg::FlagClockSkew,
        "already_on_duty" => Msg::FlagAlreadyOnDuty,
        "clock_out_without_clock_in" => Msg::FlagClockOutWithoutClockIn,
        _ => Msg::FlagUnknown,
    }
}

/// Explains a flag code in words, naming unknown codes as they are.
pub fn explain_flag(lang: Lang, code: &str) -> String {
    lang.tf(flag_message(code), &[("code", code.to_owned())])
}

/// Formats a duration in seconds as `H:MM:SS`.
pub fn format_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    format!(
        "{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled() {
        let text = Lang::En.tf(
            Msg::PhotosSent,
            &[("sent", "2".into()), ("total", "3".into())],
        );

        assert_eq!(text, "Photos 2/3 sent");
    }

    #[test]
    fn duration_format() {
        assert_eq!(format_duration(3725), "1:02:05");
    }
}

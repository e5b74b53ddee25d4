import { Controller, Delete, Get, HttpCode, HttpStatus, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { CurrentPrincipal } from '../auth/auth.decorators';
import { Client, ClientInfo } from '../auth/client-info.decorator';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { Principal } from '../token-state/token-state.types';
import { SessionResponseDto } from './session-response.dto';
import { SessionsService } from './sessions.service';

@ApiTags('sessions')
@ApiBearerAuth()
@Controller('sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Get()
  @ApiOkResponse({ type: [SessionResponseDto] })
  list(@CurrentPrincipal() principal: Principal): Promise<SessionResponseDto[]> {
    return this.sessions.listLive(principal);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'The session has ended.' })
  @ApiNotFoundResponse({ description: 'No live session of the caller has this id.' })
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseIdPipe('Session not found.')) id: string,
    @Client() client: ClientInfo,
  ): Promise<void> {
    return this.sessions.revokeOwn(principal, id, client);
  }
}
